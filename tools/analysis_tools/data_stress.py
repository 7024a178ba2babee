"""Stress the face-image readers with bad and unusual files in folder, list-file and LMDB layouts.

Writes a "zoo": good images, unusual images that must decode (16-bit, CMYK, palette, RGBA, 1-bit, 1 px, EXIF
orientations, animated GIF/PNG/WebP, TIFF variants, WebP, BMP/PPM, wrong or upper-case extensions, a link to a
good file) and bad entries that must be skipped (truncated at many cut points, zero-byte, text, random bytes,
header-only, decompression bombs, over the pixel or byte cap, formats that are never decoded such as EPS/ICO,
FIFOs, sockets, links to /dev/zero, /dev/null and /dev/urandom, file symlink loops, dangling links, directories
named like images; a directory symlink loop). Then reads every layout through a DataLoader, each run under a
deadline, and prints the counts and images/s. The test suite runs a small version (tests/datasets).

Example:
    python tools/analysis_tools/data_stress.py --out /tmp/zoo --good 10000 --cuts 1000 --workers 8
"""

import argparse
import os.path as osp
import signal
import sys
import time
from contextlib import contextmanager
from typing import Dict, List, Set, Tuple

# This tool's folder, so that the zoo generator next to it imports (also when the file is loaded by path).
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from _bad_files import MAX_BYTES, MAX_PIXELS, digest, write_zoo  # noqa: E402


def summarise(results: dict) -> dict:
    """Pipeline step: keep the sample's name, shape and pixel hash (no pixels cross the worker queue)."""
    return dict(
        name=results.get('img_path', results.get('lmdb_key')),
        shape=tuple(results['img'].shape[:2]),
        sha=digest(results['img']),
    )


@contextmanager
def deadline(seconds: int, what: str):
    """Raise TimeoutError in the main thread if the block runs longer (a hang becomes a failure)."""

    def _raise(*_):
        raise TimeoutError(f'{what} did not finish within {seconds} s')

    old = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def read_layout(
    dataset_kwargs: dict,
    workers: int,
    timeout: int = 120,
    epochs: int = 1,
    batch_size: int = 32,
    persistent: bool = False,
) -> Tuple[List[dict], object, float]:
    """Build FaceImageDataset and read it whole through a DataLoader; returns (samples, dataset, seconds)."""
    from torch.utils.data import DataLoader

    from mcf_mm.datasets import FaceImageDataset

    with deadline(timeout, f'reading {dataset_kwargs}'):
        t0 = time.perf_counter()
        ds = FaceImageDataset(
            pipeline=[summarise],
            max_pixels=MAX_PIXELS,
            max_file_bytes=MAX_BYTES,
            max_bad_fraction=1.0,
            **dataset_kwargs,
        )
        loader = DataLoader(
            ds,
            batch_size=batch_size,
            num_workers=workers,
            collate_fn=list,
            persistent_workers=persistent and workers > 0,
            timeout=timeout if workers else 0,
        )
        samples = [s for _ in range(epochs) for batch in loader for s in batch]
        return samples, ds, time.perf_counter() - t0


def check(samples: List[dict], ds, good: Dict, bad: Set[str], root: str = '') -> Dict[str, int]:
    """Counts and problems of one run against what the zoo says (names made relative to ``root``)."""
    seen = {}
    for s in samples:
        seen[osp.relpath(s['name'], root) if root else s['name']] = (s['shape'], s['sha'])
    wrong = [
        n for n, (shape, sha) in good.items() if n in seen and (seen[n][0] != shape or (sha and seen[n][1] != sha))
    ]
    return dict(
        good=len(good),
        bad=len(bad),
        skipped=ds.num_skipped,
        reads=ds.num_checked,
        returned=len(samples),
        good_dropped=len(set(good) - set(seen)),
        bad_returned=len(set(seen) & bad),
        wrong_pixels=len(wrong),
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', required=True, help='empty folder for the zoo')
    p.add_argument('--good', type=int, default=10000, help='plain good images')
    p.add_argument('--reps', type=int, default=40, help='copies of each unusual good and bad kind')
    p.add_argument('--cuts', type=int, default=1000, help='truncation cut points per format (6 formats)')
    p.add_argument('--workers', type=int, default=8)
    p.add_argument('--timeout', type=int, default=600, help='seconds each layout may take')
    args = p.parse_args()
    import mcf_mm  # noqa: F401

    t0 = time.perf_counter()
    zoo = write_zoo(args.out, args.good, args.reps, args.cuts)
    print(
        f'zoo: {len(zoo["good"])} good, {len(zoo["list_bad"])} bad entries, written in {time.perf_counter() - t0:.1f} s'
    )
    runs = [
        ('folder', dict(data_root=zoo['img_dir']), zoo['good'], zoo['folder_bad'], zoo['img_dir']),
        (
            'list',
            dict(data_root=zoo['img_dir'], ann_file=zoo['list_file']),
            zoo['good'],
            zoo['list_bad'],
            zoo['img_dir'],
        ),
        ('lmdb', dict(lmdb_path=zoo['lmdb'], ann_file=zoo['keys']), zoo['lmdb_good'], zoo['lmdb_bad'], ''),
    ]
    for name, kwargs, good, bad, root in runs:
        samples, ds, secs = read_layout(kwargs, args.workers, args.timeout)
        counts = check(samples, ds, good, bad, root)
        ok = counts['skipped'] == len(bad) and not (
            counts['good_dropped'] or counts['bad_returned'] or counts['wrong_pixels']
        )
        print(
            f'{name:6s} {"OK  " if ok else "FAIL"} '
            + ' '.join(f'{k}={v}' for k, v in counts.items())
            + f' time={secs:.1f}s reads/s={counts["reads"] / secs:.0f} returned/s={len(samples) / secs:.0f}'
        )


if __name__ == '__main__':
    main()
