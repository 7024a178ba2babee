"""Images/s of the pre-training data pipeline per DataLoader worker, against a bare decode of the same files.

The dataset is a pre-training config's ``train_dataloader.dataset`` (default: the folder dataset
``FaceImageDataset`` of configs/_base_/datasets/face_pretrain_224.py: decode, resize to 224, flip, pack; or the
tar-shard dataset ``FaceShardDataset`` of face_shards_224.py, which also crops the face) with its ``data_root``
replaced by --data-root, batched by the config's ``collate_fn``. The bare decode reads each sample's bytes (the
file, or the member's span in its shard) and runs ``decode_image`` in this process (no crop, no resize, no worker,
no collate): the ceiling one worker could reach if decoding were all it did.

    MCF_MM_DATA=/work/shared/data python tools/analysis_tools/benchmark_data.py \\
        --data-root '$MCF_MM_DATA/utkface' --max-images 512 --workers 0 1 2 --batch 32

Workers 0 is the main process. "per worker" divides by max(workers, 1). The timed pass starts once the loader's
iterator exists (worker start-up excluded; reported separately).
"""

import argparse
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(REPO, 'configs', '_base_', 'datasets', 'face_pretrain_224.py')


def build_dataset(config: str, data_root: Optional[str] = None):
    """The config's ``train_dataloader.dataset``, built in mcf_mm's scope, with ``data_root`` replaced if given."""
    from mmengine.config import Config

    import mcf_mm  # noqa: F401
    from mcf_mm.registry import DATASETS

    cfg = Config.fromfile(config)
    ds_cfg = cfg.train_dataloader.dataset
    if data_root:
        ds_cfg.data_root = osp.expandvars(data_root)
    return DATASETS.build(ds_cfg)


def sample_sources(dataset, max_images: int) -> List[Tuple[str, Optional[tuple]]]:
    """Where the first ``max_images`` samples' bytes are: (file, None) for an image file (FaceImageDataset's
    folder or list file), (shard, (offset, size)) for a tar member (FaceShardDataset)."""
    sources = []
    for i in range(min(max_images, len(dataset))):
        info = dataset.get_data_info(i)
        if 'img_path' in info:
            sources.append((info['img_path'], None))
        elif 'shard' in info and 'img_span' in info:
            sources.append((info['shard'], tuple(info['img_span'])))
        else:
            raise ValueError(
                f'{type(dataset).__name__} lists neither image files (img_path) nor tar members (shard, img_span): '
                'the bare decode reads one of those; use a folder/list-file FaceImageDataset or a FaceShardDataset.'
            )
    if not sources:
        raise ValueError(f'{type(dataset).__name__} is empty.')
    return sources


def read_source(path: str, span: Optional[tuple]) -> bytes:
    """The bytes of one sample: the whole file, or ``span`` = (offset, size) of it."""
    with open(path, 'rb') as f:
        if span is None:
            return f.read()
        f.seek(span[0])
        return f.read(span[1])


def bare_decode(sources: Sequence[Tuple[str, Optional[tuple]]]) -> Dict[str, float]:
    """Read + ``decode_image`` every sample in this process; images/s over the whole pass."""
    from mcf_mm.datasets.decode import decode_image

    start = time.perf_counter()
    pixels = 0
    for path, span in sources:
        pixels += decode_image(read_source(path, span)).size
    seconds = time.perf_counter() - start
    n = len(sources)
    return dict(images=n, seconds=seconds, images_per_s=n / seconds, mean_pixels=pixels / 3 / n)


def build_collate(config: str) -> Callable:
    """The config's ``train_dataloader.collate_fn`` as mmengine's Runner builds it (default: default_collate)."""
    from functools import partial

    from mmengine.config import Config
    from mmengine.registry import FUNCTIONS

    import mcf_mm.datasets  # noqa: F401  (registers drop_bad_collate)

    cfg = dict(Config.fromfile(config).train_dataloader.get('collate_fn', dict(type='default_collate')))
    kind = cfg.pop('type')
    return partial(FUNCTIONS.get(kind) if isinstance(kind, str) else kind, **cfg)


def loader_rate(
    dataset, indices: Sequence[int], workers: int, batch_size: int, collate_fn: Optional[Callable] = None
) -> Dict[str, float]:
    """One pass of a DataLoader (``collate_fn``, default ``default_collate``) over ``indices`` of ``dataset``
    with ``workers`` workers."""
    from mmengine.dataset import default_collate
    from torch.utils.data import DataLoader, Subset

    loader = DataLoader(
        Subset(dataset, list(indices)),
        batch_size=batch_size,
        num_workers=workers,
        collate_fn=collate_fn or default_collate,
        shuffle=False,
        drop_last=False,
    )
    start = time.perf_counter()
    iterator = iter(loader)  # forks the workers
    startup = time.perf_counter() - start
    start = time.perf_counter()
    images = sum(len(batch['inputs']) for batch in iterator)
    seconds = time.perf_counter() - start
    rate = images / seconds
    return dict(
        workers=workers,
        images=images,
        seconds=seconds,
        startup_s=startup,
        images_per_s=rate,
        images_per_s_per_worker=rate / max(workers, 1),
    )


def run(config: str, data_root: Optional[str], max_images: int, workers: Sequence[int], batch_size: int) -> dict:
    """Bare decode, then one loader pass per worker count, over the same first ``max_images`` samples (files read
    once untimed first, so that no pass pays for the disk)."""
    dataset = build_dataset(config, data_root)
    sources = sample_sources(dataset, max_images)
    for path, span in sources:  # warm the page cache: every pass below reads from memory
        read_source(path, span)
    bare = bare_decode(sources)
    collate = build_collate(config)
    loaders = [loader_rate(dataset, range(len(sources)), w, batch_size, collate) for w in workers]
    for r in loaders:
        r['per_worker_vs_bare_decode'] = r['images_per_s_per_worker'] / bare['images_per_s']
    return dict(dataset=type(dataset).__name__, data_root=getattr(dataset, 'data_root', ''), bare=bare, loaders=loaders)


def report(result: dict) -> None:
    bare = result['bare']
    print(
        f'\n{result["dataset"]} at {result["data_root"]}: {bare["images"]} images '
        f'(mean {bare["mean_pixels"]:.0f} pixels)'
    )
    print(f'bare read + decode_image (1 process): {bare["images_per_s"]:.1f} images/s')
    print(f'{"workers":>7} {"images/s":>9} {"per worker":>11} {"vs bare":>8} {"start-up s":>11}')
    for r in result['loaders']:
        print(
            f'{r["workers"]:7d} {r["images_per_s"]:9.1f} {r["images_per_s_per_worker"]:11.1f} '
            f'{r["per_worker_vs_bare_decode"]:8.2f} {r["startup_s"]:11.2f}'
        )


def main(argv: Optional[List[str]] = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--config', default=DEFAULT_CONFIG, help='a config with train_dataloader.dataset')
    p.add_argument('--data-root', help="replaces the dataset's data_root ($VARS expanded)")
    p.add_argument('--max-images', type=int, default=512)
    p.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--threads', type=int, default=1, help='torch threads of this process (workers use 1)')
    p.add_argument('--out', help='also write the results as JSON')
    args = p.parse_args(argv)
    if args.max_images < 1 or args.batch < 1 or any(w < 0 for w in args.workers):
        p.error('--max-images and --batch must be >= 1 and --workers >= 0')
    import torch

    torch.set_num_threads(args.threads)
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    result = run(args.config, args.data_root, args.max_images, args.workers, args.batch)
    report(result)
    if args.out:
        import json

        with open(args.out, 'w') as f:
            json.dump(dict(args=vars(args), **result), f, indent=2)
    return result


if __name__ == '__main__':
    main()
