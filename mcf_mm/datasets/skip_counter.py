"""Counts of read and skipped (unreadable) samples, shared by a dataset's DataLoader workers.

The counts live in shared memory created before the workers start (it reaches forked and spawned workers
alike), so the main process (SkippedImagesHook) sees what every worker counted. No lock is needed (and none
could be handed to a spawned worker from a fork-context default): each process adds only to its own row
(row 0: the main process, row 1 + i: DataLoader worker i), and setting a sample's flag byte to 1 is idempotent.

The per-sample bytes record which samples were found unreadable: mmengine re-draws a random sample after a
skip, so one bad file can be met several times; the number of distinct bad samples is what a user compares
with the dataset.
"""

import copy
import multiprocessing as mp
from typing import Dict, Tuple

import numpy as np
from mmengine.logging import print_log

MAX_ROWS = 1025  # the main process and up to 1024 workers (more share the last row, a benign race)


def _row() -> int:
    """This process's row: 0 in the main process, 1 + worker id in a DataLoader worker."""
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    return 0 if info is None else min(1 + info.id, MAX_ROWS - 1)


class SkipCounter:
    """Shared counters: samples read, skip events, distinct skipped samples (and which ones).

    Args:
        num_samples: dataset length (size of the per-sample mask; 0: distinct samples are not tracked).
        max_bad_fraction: :meth:`skip` raises once more than this fraction of at least ``min_checked`` reads
            failed (a mostly broken dataset stops early, not after hours).
        source: what to name in that error (the dataset's path).
    """

    def __init__(
        self, num_samples: int = 0, max_bad_fraction: float = 1.0, min_checked: int = 32, source: str = ''
    ) -> None:
        self.max_bad_fraction, self.min_checked, self.source = max_bad_fraction, min_checked, source
        self._counts = mp.RawArray('q', MAX_ROWS * 2)  # [MAX_ROWS, 2]: reads, failed reads per process
        self._mask = mp.RawArray('B', max(int(num_samples), 0))  # [num_samples] 1 = found unreadable

    def __deepcopy__(self, memo) -> 'SkipCounter':
        """A copy (e.g. ``BaseDataset.get_subset``) gets fresh counters; shared memory cannot be deep-copied."""
        return SkipCounter(len(self._mask), self.max_bad_fraction, self.min_checked, copy.deepcopy(self.source))

    @property
    def num_samples(self) -> int:
        """Length of the per-sample mask."""
        return len(self._mask)

    @property
    def num_checked(self) -> int:
        """Sample reads so far (re-reads of a sample count again)."""
        return int(self._rows()[:, 0].sum())

    @property
    def num_skip_events(self) -> int:
        """Reads that failed (the same bad sample met twice counts twice)."""
        return int(self._rows()[:, 1].sum())

    @property
    def num_skipped(self) -> int:
        """Distinct samples found unreadable (equals skip events when the mask is not tracked)."""
        return int(np.count_nonzero(self.mask())) if len(self._mask) else self.num_skip_events

    def stats(self) -> Dict[str, int]:
        return dict(checked=self.num_checked, skip_events=self.num_skip_events, skipped=self.num_skipped)

    def _rows(self) -> np.ndarray:
        return np.frombuffer(self._counts, dtype=np.int64).reshape(MAX_ROWS, 2)  # view, no copy

    def mask(self) -> np.ndarray:
        """[num_samples] uint8 copy of the per-sample skip flags."""
        return np.frombuffer(self._mask, dtype=np.uint8).copy()

    def checked(self) -> None:
        """Count one read."""
        self._counts[2 * _row()] += 1

    def skip(self, idx: int, name: str, err: Exception) -> Tuple[int, int]:
        """Record that sample ``idx`` (called ``name``) is unreadable; each process warns for its first three
        and every 1000th.

        Returns (skip events, reads) so far. Raises RuntimeError when the dataset looks broken.
        """
        row = _row()
        self._counts[2 * row + 1] += 1
        if 0 <= idx < len(self._mask):
            self._mask[idx] = 1
        own = self._counts[2 * row + 1]
        events, checked = self.num_skip_events, self.num_checked
        if own <= 3 or own % 1000 == 0:
            print_log(f'skipping unreadable sample {name} ({err}); {events} skipped so far', logger='current', level=30)
        if checked >= self.min_checked and events > self.max_bad_fraction * checked:
            raise RuntimeError(
                f'{events} of {checked} samples read so far are unreadable (> {self.max_bad_fraction:.0%}): '
                f'the dataset at {self.source!r} looks broken. Check the paths/format, or raise '
                '`max_bad_fraction` if this is expected.'
            )
        return events, checked


class SkipCountingMixin:
    """The shared :class:`SkipCounter` of a ``BaseDataset`` subclass: sized in ``full_init``, read as properties.

    Put it before ``BaseDataset`` in the bases. The subclass sets ``skip_counter = SkipCounter()``,
    ``max_bad_fraction`` and ``min_checked`` in ``__init__`` (before ``BaseDataset.__init__``) and names its data
    in :meth:`_skip_source`. The counter is sized before any DataLoader worker is forked.
    """

    skip_counter: SkipCounter
    max_bad_fraction: float
    min_checked: int

    def _skip_source(self) -> str:
        """What the "dataset looks broken" error names (the dataset's path)."""
        raise NotImplementedError

    def full_init(self) -> None:
        """Load the sample list, then size the shared skip counter to the dataset."""
        super().full_init()
        self._size_skip_counter()

    def _size_skip_counter(self) -> None:
        """A fresh shared counter when the current one is not sized to the dataset (call before workers start)."""
        if self.skip_counter.num_samples != len(self):
            self.skip_counter = SkipCounter(len(self), self.max_bad_fraction, self.min_checked, self._skip_source())

    @property
    def num_skipped(self) -> int:
        """Distinct unreadable samples found so far (all workers of this process)."""
        return self.skip_counter.num_skipped

    @property
    def num_checked(self) -> int:
        """Sample reads so far (all workers of this process)."""
        return self.skip_counter.num_checked
