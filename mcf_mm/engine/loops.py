"""An epoch-based train loop that resumes in the middle of an epoch at the next unseen batch.

mmengine's ``EpochBasedTrainLoop`` resumed from a checkpoint written part-way through an epoch (a
``CheckpointHook`` with ``by_epoch=False``) trains that whole epoch again. :class:`ResumableEpochBasedTrainLoop`
records in each checkpoint's ``meta['train_sampler']`` how many batches of the epoch were done and the sampling
set-up (world size, per-rank batch size, sampler seed, dataset length, ...), all plain ints and strings. On resume
it tells the sampler to skip the consumed samples (:meth:`mcf_mm.datasets.ShardSampler.skip`, no data is read) and
continues the batch index there; a mid-epoch resume whose sampling set-up changed is refused, naming the change.
"""

from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop
from torch.utils.data import DataLoader

from mcf_mm.registry import LOOPS

META_KEY = 'train_sampler'
# fields that must be equal for a mid-epoch resume: the same position means the same samples only then
_CHECKED = ('world_size', 'batch_size', 'seed', 'dataset_length', 'shuffle', 'sampler', 'epoch_batches')


def _train_sampler(dataloader):
    """The per-sample sampler of a DataLoader (under a batch sampler if need be)."""
    sampler = getattr(dataloader, 'sampler', None)
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    if batch_sampler is not None and hasattr(batch_sampler, 'sampler') and not hasattr(sampler, 'set_epoch'):
        sampler = batch_sampler.sampler
    return sampler


def _batch_size(dataloader) -> int:
    size = getattr(dataloader, 'batch_size', None) or getattr(getattr(dataloader, 'batch_sampler', None), 'batch_size')
    return int(size)


class _SamplerMetaHook(Hook):
    """Writes the loop's sampling record into each checkpoint and reads it back on resume (used by the loop)."""

    priority = 'VERY_LOW'

    def __init__(self, loop: 'ResumableEpochBasedTrainLoop') -> None:
        self.loop = loop

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[META_KEY] = self.loop.sampling_record()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False):
            self.loop.resumed_record = dict(checkpoint.get('meta', {}).get(META_KEY) or {}) or None
            self.loop.resumed_from = True


@LOOPS.register_module()
class ResumableEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` (same arguments) with exact resume from mid-epoch checkpoints.

    Resumed from a checkpoint written after ``b`` batches of epoch ``e`` (``b = iter - e * len(dataloader)``),
    epoch ``e`` continues with batch ``b``: the sampler is told ``skip(b * batch_size)`` (a sampler without
    ``skip`` is refused) and ``batch_idx`` counts on from ``b``. Which samples follow is then the same as in the
    uninterrupted run when the sampler's order depends only on (seed, epoch, world size, rank, dataset length),
    as :class:`mcf_mm.datasets.ShardSampler`'s does. The checkpoint must record the same world size, per-rank
    batch size, sampler seed and type, shuffle flag, dataset length and batches per epoch; otherwise a mid-epoch
    resume raises ``RuntimeError`` naming what changed (a sampler seed that was drawn at random, ``seed=None``,
    takes the checkpoint's). A resume at an epoch boundary is always allowed.

    A DataLoader without a ``generator`` gets one (seeded with the runner's seed): the worker base seed it draws
    for each new iterator then comes from it, not from the global torch RNG, so the model's random stream (masks,
    restored by :class:`mcf_mm.engine.RNGStateHook`) is the same whether or not the run was resumed.
    """

    def __init__(
        self,
        runner,
        dataloader: Union[DataLoader, Dict],
        max_epochs: int,
        val_begin: int = 1,
        val_interval: int = 1,
        dynamic_intervals: Optional[List[Tuple[int, int]]] = None,
    ) -> None:
        super().__init__(runner, dataloader, max_epochs, val_begin, val_interval, dynamic_intervals)
        if isinstance(self.dataloader, DataLoader) and self.dataloader.generator is None:
            generator = torch.Generator()
            generator.manual_seed(int(getattr(runner, 'seed', None) or 0))
            self.dataloader.generator = generator
        self.resumed_record: Optional[dict] = None
        self.resumed_from = False
        self._batch_in_iter: Optional[int] = None  # batch index while its after_train_iter hooks run
        self._start_batch = 0
        runner.register_hook(_SamplerMetaHook(self))

    @property
    def sampler(self):
        return _train_sampler(self.dataloader)

    def sampling_record(self) -> dict:
        """Plain ints and strings: the sampling set-up and how many batches of the current epoch are done."""
        sampler = self.sampler
        seed = getattr(sampler, 'seed', None)
        done = 0 if self._batch_in_iter is None else self._batch_in_iter + 1  # at an epoch end (or val): 0
        return dict(
            consumed_batches=int(done),
            epoch=int(self._epoch),
            epoch_batches=int(len(self.dataloader)),
            world_size=int(self.runner.world_size),
            batch_size=_batch_size(self.dataloader),
            seed=-1 if seed is None else int(seed),
            dataset_length=int(len(self.dataloader.dataset)),
            shuffle=int(bool(getattr(sampler, 'shuffle', False))),
            sampler=type(sampler).__name__,
        )

    def _resume_position(self) -> int:
        """Batches of the current epoch already trained in the resumed checkpoint; checks the set-up first."""
        if not self.resumed_from:
            return 0
        record = self.resumed_record
        if record is None:
            consumed = self._iter - self._epoch * len(self.dataloader)
            if consumed == 0:
                return 0
            raise RuntimeError(
                f'the checkpoint was written after {consumed} batches of epoch {self._epoch + 1} (iteration '
                f'{self._iter}) but holds no `meta.{META_KEY}` record (it was not written by '
                'ResumableEpochBasedTrainLoop), so the samples already seen cannot be skipped exactly. Resume from '
                'an epoch checkpoint (epoch_*.pth) instead.'
            )
        consumed = int(record['consumed_batches'])
        if consumed == 0:
            return 0
        now = self.sampling_record()
        sampler = self.sampler
        if now['seed'] != record['seed'] and getattr(sampler, 'seed_drawn', False):
            sampler.seed = int(record['seed'])  # a random seed is no choice of the user's: continue the same order
            self.runner.logger.info(f'Sampler seed {now["seed"]} (drawn at random) -> {record["seed"]} (checkpoint).')
            now['seed'] = record['seed']
        changed = [f'{k} {record[k]!r} -> {now[k]!r}' for k in _CHECKED if k in record and record[k] != now[k]]
        if changed:
            raise RuntimeError(
                f'cannot resume in the middle of epoch {self._epoch + 1} (after {consumed} of '
                f'{record["epoch_batches"]} batches): the sampling set-up changed since the checkpoint '
                f'({"; ".join(changed)}), so the batches still to come are not the ones the interrupted run would '
                'have trained on. Resume with the same set-up, or from an epoch checkpoint (epoch_*.pth).'
            )
        if not callable(getattr(sampler, 'skip', None)):
            raise RuntimeError(
                f'resuming in the middle of an epoch needs a sampler with skip(); {type(sampler).__name__} has '
                "none. Use train_dataloader.sampler=dict(type='ShardSampler'), or resume from an epoch checkpoint."
            )
        if self._epoch != int(record.get('epoch', self._epoch)):
            raise RuntimeError(f'the checkpoint records epoch {record["epoch"]}; the runner resumed {self._epoch}.')
        return consumed

    def run(self):
        """Check a mid-epoch resume (before any hook runs), then mmengine's loop."""
        self._start_batch = self._resume_position()
        return super().run()

    def run_epoch(self) -> None:
        """One epoch; the first after a mid-epoch resume starts at the next unseen batch."""
        self.runner.call_hook('before_train_epoch')  # sets the sampler's epoch
        self.runner.model.train()
        start, self._start_batch = self._start_batch, 0
        if start:
            samples = min(start * _batch_size(self.dataloader), len(self.sampler))  # the last batch may be partial
            self.sampler.skip(samples)
            self.runner.logger.info(
                f'Resumed in the middle of epoch {self._epoch + 1}: skipping its first {start} batches '
                f'({samples} samples per rank), without reading them.'
            )
        for idx, data_batch in enumerate(self.dataloader, start):
            self.run_iter(idx, data_batch)
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_iter(self, idx, data_batch) -> None:
        self._batch_in_iter = idx
        try:
            super().run_iter(idx, data_batch)
        finally:
            self._batch_in_iter = None
