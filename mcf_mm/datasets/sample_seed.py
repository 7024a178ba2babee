"""Per-sample seeds for data-side randomness (random flips, crops): a sample's augmentation depends only on the
sampler seed, the epoch and the sample index, not on which DataLoader worker reads it or when the worker started.

:class:`mcf_mm.datasets.ShardSampler` with ``sample_seeds=True`` yields ``(index, seed)`` pairs, the seed from
:func:`sample_seeds`; :class:`SampleSeededDataset` seeds python ``random``, numpy and torch with it before it reads
the sample. A run resumed in the middle of an epoch then applies the same flips to the rest of the epoch as the
uninterrupted run (worker RNG streams restart at a resume, per-sample seeds do not depend on them).
"""

import random
from typing import Tuple, Union

import numpy as np
import torch
from torch.utils.data import get_worker_info

from mcf_mm.registry import DATASETS

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 values (wrapping arithmetic): a well-mixed hash."""
    with np.errstate(over='ignore'):
        x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return x ^ (x >> np.uint64(31))


def sample_seeds(seed: int, epoch: int, indices) -> np.ndarray:
    """[n] int64 seeds in [0, 2**32) of the samples ``indices`` ([n] int) in ``epoch`` under sampler seed ``seed``:
    ``splitmix64(splitmix64(splitmix64(seed) ^ epoch) ^ index)``, low 32 bits (numpy's seed range)."""
    idx = np.asarray(indices, dtype=np.int64).astype(np.uint64)  # [n]
    base = _splitmix64(np.array([int(seed) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
    base = _splitmix64(base ^ np.uint64(int(epoch) & 0xFFFFFFFFFFFFFFFF))  # [1]
    return (_splitmix64(base ^ idx) & np.uint64(0xFFFFFFFF)).astype(np.int64)


def seed_all(seed: int) -> None:
    """Seed python ``random``, numpy's global RNG and torch's CPU RNG with ``seed`` (not the CUDA generators,
    which ``torch.manual_seed`` would also reseed: the model's masks may be drawn there)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.default_generator.manual_seed(seed)


@DATASETS.register_module()
class SampleSeededDataset:
    """Wrap a dataset so that ``ds[(idx, seed)]`` reads ``inner[idx]`` with the RNGs seeded by ``seed``.

    Pair it with ``ShardSampler(sample_seeds=True)``. Everything else (``len``, ``shard_ids``, ``num_skipped``,
    ``skip_counter``, ``metainfo``, ``get_data_info``, ...) is the wrapped dataset's, so samplers, hooks and loops
    that look at the dataset see the inner one. In a DataLoader worker the seeding stays in the worker; in the main
    process (``num_workers=0``) the RNG states are put back after the read, so the model's random stream (masks)
    does not depend on the data.

    Args:
        dataset: the dataset or its config.
    """

    def __init__(self, dataset: Union[dict, object]) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str):
        # 'dataset' not set yet (unpickling): no recursion; dunders (e.g. the DataLoader's __getitems__) are not
        # the inner dataset's, so every read goes through __getitem__ and is seeded
        if name == 'dataset' or name.startswith('__'):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, item: Union[int, Tuple[int, int]]):
        if not isinstance(item, (tuple, list)):
            return self.dataset[item]  # a plain index (a tool reading the dataset): no seeding
        if len(item) != 2:
            raise TypeError(f'SampleSeededDataset takes an index or an (index, seed) pair, got {item!r}.')
        idx, seed = int(item[0]), int(item[1])
        if get_worker_info() is not None:
            seed_all(seed)
            return self.dataset[idx]
        states = random.getstate(), np.random.get_state(), torch.get_rng_state()
        try:
            seed_all(seed)
            return self.dataset[idx]
        finally:
            random.setstate(states[0])
            np.random.set_state(states[1])
            torch.set_rng_state(states[2])
