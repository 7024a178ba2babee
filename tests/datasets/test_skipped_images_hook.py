"""SkippedImagesHook: counts from all DataLoader workers, summed over ranks (1 process and 2 gloo processes)."""

import json
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch.multiprocessing as mp
from mmengine.logging import MessageHub, MMLogger

import mcf_mm  # noqa: F401
from mcf_fixtures.dist import free_port
from mcf_mm.datasets import FaceImageDataset
from mcf_mm.datasets.skip_counter import SkipCounter
from mcf_mm.engine.hooks import SkippedImagesHook
from mcf_mm.engine.hooks.skipped_images_hook import reduce_skip_counts

# rank -> sample indices each rank finds unreadable (index 1 on both ranks: one file, counted once)
RANK_SKIPS = {0: [0, 1, 1], 1: [1, 2, 3]}
READS = {0: 7, 1: 9}


class _Stub:
    """A dataset-like object that only carries a SkipCounter (what the hook looks for)."""

    def __init__(self, counter: SkipCounter, n: int) -> None:
        self.skip_counter, self.n = counter, n

    def __len__(self) -> int:
        return self.n


class _Wrap:
    """A dataset wrapper (``.dataset``) or concatenation (``.datasets``), as the hook must look through."""

    def __init__(self, n: int, **inner) -> None:
        self.n = n
        self.__dict__.update(inner)

    def __len__(self) -> int:
        return self.n


def _runner(dataset, name: str):
    return SimpleNamespace(
        train_dataloader=SimpleNamespace(dataset=dataset),
        epoch=0,
        message_hub=MessageHub.get_instance(name),
        logger=MMLogger.get_instance(name),
    )


def test_hook_counts_all_workers_one_process(tmp_path):
    from torch.utils.data import DataLoader

    for i in range(6):
        (tmp_path / f'bad_{i}.jpg').write_bytes(b'' if i % 2 else b'no image')
    import cv2

    for i in range(10):
        cv2.imwrite(str(tmp_path / f'good_{i}.png'), np.full((5, 5, 3), i, np.uint8))
    ds = FaceImageDataset(data_root=str(tmp_path), pipeline=[lambda r: r['img_path']], max_bad_fraction=1.0)
    for _ in DataLoader(ds, batch_size=4, num_workers=2, collate_fn=list, timeout=60):
        pass
    runner = _runner(_Wrap(len(ds), dataset=ds), 'hook_one')
    SkippedImagesHook().after_train_epoch(runner)
    assert runner.message_hub.get_info('num_skipped_images') == 6
    counts = reduce_skip_counts([ds.skip_counter])
    assert counts['skipped'] == counts['skipped_sum'] == 6 and counts['world_size'] == 1
    assert counts['checked'] == ds.num_checked >= 16 and counts['skip_events'] >= 6


def _rank_counter(rank: int) -> SkipCounter:
    counter = SkipCounter(10)
    for _ in range(READS[rank]):
        counter.checked()
    for idx in RANK_SKIPS[rank]:
        counter.skip(idx, f'sample {idx}', ValueError('bad'))
    return counter


def _worker(rank: int, port: int, out_dir: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    counter = _rank_counter(rank)
    runner = _runner(_Wrap(10, datasets=[_Stub(counter, 10)]), f'hook_rank{rank}')
    SkippedImagesHook().after_train(runner)
    result = dict(reduce_skip_counts([counter]), hub=runner.message_hub.get_info('num_skipped_images'))
    with open(os.path.join(out_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(result, f)
    dist.destroy_process_group()


@pytest.mark.slow
def test_hook_sums_over_two_gloo_ranks(tmp_path):
    mp.start_processes(_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True, start_method='spawn')
    results = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in range(2)]
    union = set(RANK_SKIPS[0]) | set(RANK_SKIPS[1])
    want = dict(
        checked=sum(READS.values()),
        skip_events=sum(len(v) for v in RANK_SKIPS.values()),
        skipped_sum=sum(len(set(v)) for v in RANK_SKIPS.values()),
        skipped=len(union),
        world_size=2,
        hub=len(union),
    )
    assert results[0] == want and results[1] == want
