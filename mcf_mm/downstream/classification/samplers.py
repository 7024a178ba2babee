"""Samplers for the face classification datasets: class-balanced draws, distributed like mmengine's DefaultSampler."""

import math
from typing import Iterator, Optional, Sized

import numpy as np
import torch
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mcf_mm.registry import DATA_SAMPLERS


def dataset_labels(dataset: Sized) -> np.ndarray:
    """The single-label class index of every sample, [N] int64, before any transform runs.

    Read from mmpretrain's ``get_gt_labels()`` where the dataset has it, else ``get_data_info(i)['gt_label']``.
    """
    if hasattr(dataset, 'get_gt_labels'):
        labels = dataset.get_gt_labels()
    elif hasattr(dataset, 'get_data_info'):
        labels = [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))]
    else:
        raise TypeError(
            f'ClassBalancedSampler needs the labels of {type(dataset).__name__}: give it get_gt_labels() or '
            f'get_data_info(i)["gt_label"] (mmpretrain/mmengine datasets have them).'
        )
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError):
        raise TypeError('ClassBalancedSampler balances single-label datasets; got multi-label gt_label.') from None
    if labels.ndim != 1 or labels.size != len(dataset):
        raise TypeError(f'ClassBalancedSampler needs one int label per sample; got labels of shape {labels.shape}.')
    if labels.size and labels.min() < 0:
        raise ValueError(f'ClassBalancedSampler: negative label {labels.min()} in {type(dataset).__name__}.')
    return labels


@DATA_SAMPLERS.register_module()
class ClassBalancedSampler(Sampler):
    """Draw each epoch's indices with replacement, with probability inversely proportional to class frequency.

    Sample ``i`` of class ``c`` has probability ``1 / (C * n_c)`` per draw (``n_c`` samples in class ``c``, ``C``
    classes present), so every class has the same expected count per epoch and, within a class, every sample the
    same chance. Distributed like mmengine's ``DefaultSampler``: all ranks draw the same epoch order from
    ``seed + epoch`` (``set_epoch`` is called by the runner each epoch) and rank ``r`` takes the positions
    ``r, r + world_size, ...`` of it, so the ranks' shards are disjoint slices of one order.

    Args:
        dataset: a single-label dataset (see :func:`dataset_labels`).
        num_samples: draws per epoch over all ranks; default ``len(dataset)``. Rounded up to a multiple of the
            world size (each rank yields ``ceil(num_samples / world_size)``).
        seed: the shared random seed; ``None`` draws one and syncs it across ranks (as ``DefaultSampler``).
    """

    def __init__(self, dataset: Sized, num_samples: Optional[int] = None, seed: Optional[int] = None) -> None:
        self.rank, self.world_size = get_dist_info()
        self.dataset = dataset
        labels = dataset_labels(dataset)
        if labels.size == 0:
            raise ValueError('ClassBalancedSampler got an empty dataset.')
        counts = np.bincount(labels)  # [max label + 1], zero for absent classes
        self.class_counts = counts
        self.weights = torch.from_numpy(1.0 / counts[labels])  # [N], float64, 1 / n_c of each sample's class
        total = len(dataset) if num_samples is None else int(num_samples)
        if total <= 0:
            raise ValueError(f'ClassBalancedSampler num_samples={num_samples} must be > 0.')
        self.num_samples = math.ceil(total / self.world_size)  # per rank
        self.total_size = self.num_samples * self.world_size
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        order = torch.multinomial(self.weights, self.total_size, replacement=True, generator=g).tolist()
        return iter(order[self.rank : self.total_size : self.world_size])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch: the draws of epoch ``e`` depend on ``seed + e`` only."""
        self.epoch = epoch
