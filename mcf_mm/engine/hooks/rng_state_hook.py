"""Exact RNG resume: the torch/numpy/python RNG states travel in each checkpoint, as plain data."""

import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.runner import IterBasedTrainLoop

from mcf_mm.registry import HOOKS


def numpy_state_to_plain(state: tuple) -> dict:
    """numpy's legacy ``get_state()`` tuple (it holds a uint32 key array) as tensors and numbers."""
    name, key, pos, has_gauss, cached_gaussian = state
    return dict(
        bit_generator=str(name),
        key=torch.from_numpy(np.asarray(key, dtype=np.int64)),
        pos=int(pos),
        has_gauss=int(has_gauss),
        cached_gaussian=float(cached_gaussian),
    )


def numpy_state_from_plain(state) -> tuple:
    """Inverse of :func:`numpy_state_to_plain` (also takes the tuple of an old or converted checkpoint)."""
    if isinstance(state, (tuple, list)):
        name, key, *rest = state
    else:
        name, key = state['bit_generator'], state['key']
        rest = [state['pos'], state['has_gauss'], state['cached_gaussian']]
    if isinstance(key, torch.Tensor):
        key = key.detach().cpu().numpy()
    return (name, np.asarray(key).astype(np.uint32), *rest)  # key: [624] Mersenne Twister words


def capture_rng_states() -> dict:
    """The torch (and CUDA), numpy and python RNG states, as plain data."""
    state = dict(
        torch=torch.get_rng_state(), numpy=numpy_state_to_plain(np.random.get_state()), python=random.getstate()
    )
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_states(state: dict) -> None:
    """Set the RNGs to a state of :func:`capture_rng_states` (tensors may come on any device)."""
    torch.set_rng_state(state['torch'].cpu())
    np.random.set_state(numpy_state_from_plain(state['numpy']))
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    if 'cuda' in state and torch.cuda.is_available() and len(state['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])


def _checkpoint_due(runner, batch_idx: int) -> bool:
    """Whether a checkpoint hook may save after this iteration: an iteration checkpoint is due, or the epoch ends
    (epoch and best checkpoints are written after the epoch's last iteration, with its RNG states)."""
    # epoch-based loops only: an iteration-based loop's batch_idx is the global iteration, not a position in an epoch
    if not isinstance(runner.train_loop, IterBasedTrainLoop) and batch_idx + 1 >= len(runner.train_dataloader):
        return True
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook) and not hook.by_epoch:
            if hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or (
                hook.save_last and hook.is_last_train_iter(runner)
            ):
                return True
    return False


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the torch/numpy/python RNG states of every rank in each checkpoint and restore them on resume.

    With it, a run interrupted at a checkpoint (epoch or mid-epoch) and resumed draws the same masks as an
    uninterrupted run (mmengine alone re-seeds, which repeats the first epoch's randomness); data-side randomness
    in DataLoader workers needs per-sample seeds as well (:class:`mcf_mm.datasets.SampleSeededDataset`). The states
    are stored as tensors, numbers and tuples, which ``torch.load(weights_only=True)`` reads.

    - Under DDP only rank 0 writes checkpoints, so after each iteration a checkpoint may follow (an iteration
      checkpoint is due, or the epoch ends) the ranks' states are gathered (``rng_state_ranks``, one per rank) and
      each rank restores its own; a checkpoint of another world size (or without them) gives rank 0 its state and
      the others states derived from it.
    - The states are restored when the checkpoint is loaded. A new DataLoader iterator draws its worker base seed
      from the global torch RNG unless the DataLoader has a ``generator``; :class:`ResumableEpochBasedTrainLoop`
      gives it one, so the resumed run's first iterator (mid-epoch) draws nothing the uninterrupted run did not.
    - Validation during training leaves the RNGs as it found them (creating its DataLoader iterator draws a seed),
      so a run resumed from a checkpoint written before a validation continues exactly as the uninterrupted run.
    """

    priority = 'LOW'  # after_train_iter: before the checkpoint hooks (VERY_LOW) of the same iteration

    def __init__(self) -> None:
        self._before_val = None
        self._ranks = None  # [state per rank], gathered after the last iteration (None once the next one starts)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if get_world_size() > 1 and _checkpoint_due(runner, batch_idx):
            self._ranks = all_gather_object(capture_rng_states())

    def before_val_epoch(self, runner) -> None:
        self._before_val = capture_rng_states()

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._before_val is not None:
            restore_rng_states(self._before_val)
            self._before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # a checkpoint written during validation (best checkpoint) holds the state training continues from
        checkpoint['rng_state'] = self._before_val if self._before_val is not None else capture_rng_states()
        if self._ranks is not None:  # gathered after the iteration just done
            checkpoint['rng_state_ranks'] = self._ranks

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None or not getattr(runner, '_resume', False):
            return  # fine-tuning from a checkpoint keeps its own seed
        rank, ranks = get_rank(), checkpoint.get('rng_state_ranks')
        own = ranks is not None and len(ranks) == get_world_size()
        restore_rng_states(ranks[rank] if own else state)
        if rank > 0 and not own:
            seed = int(torch.randint(0, 2**31 - 1, ()).item()) + rank
            torch.manual_seed(seed)
            np.random.seed(seed % 2**32)
            random.seed(seed)
        runner.logger.info('Restored RNG states from the checkpoint' + (' (one per rank).' if own else '.'))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._ranks = None  # a new iteration: the gathered states are out of date
