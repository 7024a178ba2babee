"""Reporting of the unreadable images a training set skipped, summed over all ranks."""

from typing import List

import numpy as np
import torch
from mmengine import dist
from mmengine.hooks import Hook

from mcf_mm.registry import HOOKS


def find_skip_counters(dataset) -> List:
    """The SkipCounters of a dataset, looking through wrappers (``.dataset``) and concatenations (``.datasets``)."""
    if hasattr(dataset, 'skip_counter'):
        return [dataset.skip_counter]
    if hasattr(dataset, 'datasets'):
        return [c for d in dataset.datasets for c in find_skip_counters(d)]
    if hasattr(dataset, 'dataset'):
        return find_skip_counters(dataset.dataset)
    return []


def reduce_skip_counts(counters: List) -> dict:
    """Counts over all ranks (a collective: every rank must call it). Works without a process group.

    ``skipped``: distinct unreadable samples over all ranks (per-sample flags combined with max, so a bad file met
    on two ranks counts once); ``skipped_sum``: the sum of the ranks' own distinct counts; ``skip_events`` and
    ``checked``: sums of failed and all reads.
    """
    counts = torch.tensor(
        [
            sum(c.num_checked for c in counters),
            sum(c.num_skip_events for c in counters),
            sum(c.num_skipped for c in counters),
        ],
        dtype=torch.int64,
    )  # [3]
    dist.all_reduce(counts, op='sum')
    masks = [c.mask() for c in counters]
    mask = torch.from_numpy(np.concatenate(masks) if masks else np.zeros(0, np.uint8))  # [num_samples] uint8
    n = mask.numel() if all(c.num_samples for c in counters) else 0
    size = torch.tensor([n, -n], dtype=torch.int64)
    dist.all_reduce(size, op='max')  # the same decision on every rank: equal lengths <=> max == min
    out = dict(
        checked=int(counts[0]), skip_events=int(counts[1]), skipped_sum=int(counts[2]), world_size=dist.get_world_size()
    )
    if int(size[0]) == -int(size[1]) > 0:
        dist.all_reduce(mask, op='max')
        out['skipped'] = int(mask.sum())
    else:  # no per-sample flags (or datasets of different lengths): the sum is the best available count
        out['skipped'] = out['skipped_sum']
    return out


@HOOKS.register_module()
class SkippedImagesHook(Hook):
    """Log how many unreadable images the training set skipped (all ranks and workers), after every epoch and at
    the end; the distinct count is also stored as ``num_skipped_images`` in the message hub."""

    def _report(self, runner, when: str) -> None:
        counters = find_skip_counters(runner.train_dataloader.dataset)
        if not counters:
            return
        counts = reduce_skip_counts(counters)
        runner.message_hub.update_info('num_skipped_images', counts['skipped'])
        loader = runner.train_dataloader
        per_rank = getattr(loader, 'sampler', None)
        per_rank = f', {len(per_rank)} per rank per epoch' if hasattr(per_rank, '__len__') else ''
        runner.logger.info(
            f'{when}: skipped {counts["skipped"]} unreadable images ({counts["skip_events"]} failed reads of '
            f'{counts["checked"]}, {counts["world_size"]} rank(s)); dataset length {len(loader.dataset)} '
            f'(all ranks){per_rank}.'
        )

    def after_train_epoch(self, runner) -> None:
        self._report(runner, f'epoch {runner.epoch + 1}')  # mmengine counts epochs from 1 in its logs

    def after_train(self, runner) -> None:
        self._report(runner, 'training finished')
