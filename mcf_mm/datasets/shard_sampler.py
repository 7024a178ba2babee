"""A sampler over tar shards: each rank reads whole runs of shards, in a seeded per-epoch order, no sample twice.

Epoch ``e``'s order ``S`` (length ``N``, the dataset length): the shards are permuted by a ``torch.Generator``
seeded with ``seed + e``, then, shard by shard in that permuted order, the shard's samples are permuted by the
same generator and appended. Without ``shuffle`` ``S`` is ``0 .. N-1``. Rank ``r`` of ``W`` gets the block
``S[r * n:(r + 1) * n]`` with ``n = N // W``: disjoint blocks of equal length, each a contiguous run of shards (a
rank reads only the shards of its block, a few files per worker, instead of every shard). The ``N % W`` samples
at the end of ``S`` are not used in epoch ``e`` (a different few each epoch under ``shuffle``).

DataLoader workers get whole batches of the rank's block (map-style dataset: the sampler runs in the main process),
so no sample is read twice in an epoch. :meth:`ShardSampler.skip` starts the next epoch iteration part-way, which
:class:`mcf_mm.engine.ResumableEpochBasedTrainLoop` uses to resume in the middle of an epoch. With
``sample_seeds=True`` the sampler yields ``(index, seed)`` pairs for :class:`mcf_mm.datasets.SampleSeededDataset`
(seed: :func:`mcf_mm.datasets.sample_seed.sample_seeds` of (sampler seed, epoch, index)).
"""

from typing import Iterator, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mcf_mm.registry import DATA_SAMPLERS

from .sample_seed import sample_seeds as _sample_seeds


def shard_runs(shard_ids: np.ndarray) -> list:
    """(start, stop) index range of each shard's samples, in index order.

    Args:
        shard_ids: [N] int shard id of every sample, non-decreasing (samples ordered by shard).
    """
    shard_ids = np.asarray(shard_ids)
    if shard_ids.ndim != 1:
        raise ValueError(f'shard_ids() must be one-dimensional ([N]), got shape {shard_ids.shape}.')
    if len(shard_ids) and np.any(np.diff(shard_ids) < 0):
        bad = int(np.flatnonzero(np.diff(shard_ids) < 0)[0])
        raise ValueError(
            f'shard_ids() must be non-decreasing (samples ordered by shard); sample {bad + 1} has shard '
            f"{shard_ids[bad + 1]} after shard {shard_ids[bad]}. The dataset must list each shard's samples together."
        )
    starts = np.flatnonzero(np.r_[True, shard_ids[1:] != shard_ids[:-1]]) if len(shard_ids) else np.zeros(0, int)
    stops = np.r_[starts[1:], len(shard_ids)]
    return [(int(a), int(b)) for a, b in zip(starts, stops)]


def epoch_order(runs: list, num_samples: int, shuffle: bool, seed: int, epoch: int) -> torch.Tensor:
    """The epoch's sample order ``S`` ([N] int64) described in the module docstring."""
    if not shuffle:
        return torch.arange(num_samples, dtype=torch.int64)
    g = torch.Generator()
    g.manual_seed(seed + epoch)
    parts = []
    for shard in torch.randperm(len(runs), generator=g).tolist():
        start, stop = runs[shard]
        parts.append(start + torch.randperm(stop - start, generator=g))  # [size of the shard]
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.int64)


@DATA_SAMPLERS.register_module()
class ShardSampler(Sampler):
    """Per-rank sampler that keeps the samples of a shard together (see the module docstring for the order).

    Args:
        dataset: the dataset; its ``shard_ids()`` ([N] non-decreasing shard id per sample) groups the samples;
            a dataset without ``shard_ids`` is one shard.
        shuffle: permute the shards and the samples inside each shard, anew every epoch.
        seed: base seed of the permutations (epoch ``e`` uses ``seed + e``); None: drawn once on rank 0 and
            shared by all ranks (mmengine's ``sync_random_seed``), so a mid-epoch resume adopts the checkpoint's.
        round_up: must be False: the ``N % world_size`` leftover samples of an epoch are left out, never repeated.
        sample_seeds: yield ``(index, seed)`` pairs, the seed a function of (``seed``, epoch, index) only, for a
            dataset wrapped in :class:`mcf_mm.datasets.SampleSeededDataset` (data augmentation seeded per sample).
    """

    def __init__(
        self,
        dataset,
        shuffle: bool = True,
        seed: Optional[int] = None,
        round_up: bool = False,
        sample_seeds: bool = False,
    ) -> None:
        if round_up:
            raise ValueError(
                'ShardSampler does not repeat samples to fill the last rank (round_up=True); it leaves the '
                'N % world_size leftovers of each epoch out instead. Drop `round_up` from the sampler config.'
            )
        rank, world_size = get_dist_info()
        self.rank, self.world_size = rank, world_size
        self.dataset, self.shuffle, self.sample_seeds = dataset, shuffle, bool(sample_seeds)
        self.seed_drawn = seed is None
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0
        self._skip = 0
        self.num_total = len(dataset)
        ids = dataset.shard_ids() if hasattr(dataset, 'shard_ids') else np.zeros(self.num_total, np.int64)
        if len(ids) != self.num_total:
            raise ValueError(f'dataset.shard_ids() has {len(ids)} entries for a dataset of {self.num_total} samples.')
        self.runs = shard_runs(ids)
        self.num_samples = self.num_total // world_size
        if self.num_samples == 0:
            raise ValueError(
                f'the dataset has {self.num_total} samples, fewer than the {world_size} processes: every rank '
                'needs at least one sample per epoch. Use more data or fewer processes.'
            )

    @property
    def num_shards(self) -> int:
        return len(self.runs)

    def rank_block(self, epoch: Optional[int] = None) -> torch.Tensor:
        """[n] int64: this rank's samples of ``epoch`` (default: the current one), in order, without any skip."""
        order = epoch_order(self.runs, self.num_total, self.shuffle, self.seed, self.epoch if epoch is None else epoch)
        n = self.num_samples
        return order[self.rank * n : (self.rank + 1) * n]

    def __iter__(self) -> Iterator[Union[int, Tuple[int, int]]]:
        start, self._skip = self._skip, 0  # one shot
        block = self.rank_block()[start:].tolist()
        if not self.sample_seeds:
            return iter(block)
        return iter(zip(block, _sample_seeds(self.seed, self.epoch, block).tolist()))

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s order from the next iteration on (mmengine's DistSamplerSeedHook calls it)."""
        self.epoch = int(epoch)

    def skip(self, num: int) -> None:
        """Start the next iteration at position ``num`` of this rank's block (once; later ones start at 0)."""
        if not 0 <= int(num) <= self.num_samples:
            raise ValueError(f'cannot skip {num} samples of a block of {self.num_samples} per rank.')
        self._skip = int(num)
