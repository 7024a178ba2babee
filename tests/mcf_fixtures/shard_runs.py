"""Training runs on tiny face-crop tar shards: shards with planted corrupt members, hooks that record every trained
sample per rank and stop a run right after a given checkpoint, and the tiny MCF config that uses them.

The config imports this module through ``custom_imports`` (``mcf_fixtures.shard_runs``): subprocesses need the
tests folder on ``PYTHONPATH``.
"""

import io
import os
import os.path as osp
import tarfile
from typing import List, Sequence, Tuple

from mmengine.hooks import Hook

from mcf_mm.registry import HOOKS

from .tiny import tiny_overrides

TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_crop_shards(root: str, sizes: Sequence[int], corrupt: Sequence[Tuple[int, int]] = ()) -> List[dict]:
    """Shards ``root/00000.tar ...`` of real face crops (scikit-image's LFW subset) in img2dataset layout
    (``<key>.jpg|png``, ``.json``, ``.txt``), written with plain ``tarfile``.

    Args:
        sizes: samples per shard.
        corrupt: (shard, position) of samples whose image bytes do not decode.
    Returns:
        one dict(index, shard, key, bad) per sample, in shard then member order (the dataset's index order).
    """
    import cv2
    import numpy as np
    from skimage import data as skdata

    faces = skdata.lfw_subset()
    os.makedirs(root, exist_ok=True)
    records, bad = [], set(map(tuple, corrupt))
    for s, size in enumerate(sizes):
        with tarfile.open(osp.join(root, f'{s:05d}.tar'), 'w') as tar:
            for i in range(size):
                index = len(records)
                key = f'{s:04d}{i:05d}'
                face = cv2.resize((faces[index % len(faces)] * 255).round().astype(np.uint8), (40, 40))
                ext = 'png' if i % 2 else 'jpg'
                ok, buf = cv2.imencode('.' + ext, np.repeat(face[..., None], 3, axis=2))
                assert ok
                img = b'\xff\xd8\xff\xe0 not a jpeg' if (s, i) in bad else buf.tobytes()
                _add(tar, f'{key}.{ext}', img)
                _add(tar, f'{key}.json', b'{"key": "%s"}' % key.encode())
                _add(tar, f'{key}.txt', f'face {index}'.encode())
                records.append(dict(index=index, shard=s, key=key, bad=(s, i) in bad))
    return records


@HOOKS.register_module()
class RecordTrainedSamplesHook(Hook):
    """Append ``epoch iter batch_idx idx,idx,...`` per trained batch to ``<work_dir>/samples_rank<r>.txt``.

    Runs before the checkpoint hooks of the same iteration (priority NORMAL vs VERY_LOW), so the lines with
    ``iter < checkpoint meta iter`` are exactly the batches a checkpoint holds. One ``os.write`` per line.
    """

    priority = 'NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        ids = [int(s.metainfo['sample_idx']) for s in data_batch['data_samples']]
        line = f'{runner.epoch} {runner.iter} {batch_idx} {",".join(map(str, ids))}\n'
        path = osp.join(runner.work_dir, f'samples_rank{runner.rank}.txt')
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


@HOOKS.register_module()
class ExitAfterCheckpointHook(Hook):
    """Stop every rank with ``os._exit(3)`` right after the checkpoint of iteration ``at`` (1-based) is written."""

    priority = 'LOWEST'  # after the checkpoint hooks (VERY_LOW)

    def __init__(self, at: int) -> None:
        self.at = int(at)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at:
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                dist.barrier()  # rank 0 has written the checkpoint
            os._exit(3)


def read_records(work_dir: str, rank: int) -> List[Tuple[int, int, int, List[int]]]:
    """(epoch, iter, batch_idx, sample ids) per trained batch of one rank, in training order."""
    path = osp.join(work_dir, f'samples_rank{rank}.txt')
    out = []
    for line in open(path).read().splitlines():
        epoch, it, idx, ids = line.split(' ')
        out.append((int(epoch), int(it), int(idx), [int(i) for i in ids.split(',')]))
    return out


def shard_config(
    teacher: str,
    data_root: str,
    max_epochs: int,
    batch_size: int,
    num_workers: int,
    ckpt_interval: int,
    exit_at: int = 0,
    seed: int = 0,
) -> str:
    """Python text of a tiny MCF config on cropped shards, with the shard sampler (per-sample seeds, the dataset
    wrapped in SampleSeededDataset), resumable loop, mid-epoch checkpoints every ``ckpt_interval`` iterations (all
    kept), the RNG state hook and the sample recorder (and the exit hook)."""
    exit_hook = f"dict(type='ExitAfterCheckpointHook', at={exit_at})," if exit_at else ''
    extra = f"""
custom_imports = dict(imports=['mcf_mm', 'mcf_mm.models', 'mcf_mm.datasets', 'mcf_mm.engine',
                               'mcf_fixtures.shard_runs'], allow_failed_imports=False)
train_dataloader = dict(
    batch_size={batch_size}, num_workers={num_workers}, persistent_workers={num_workers > 0}, pin_memory=False,
    sampler=dict(_delete_=True, type='ShardSampler', shuffle=True, seed={seed}, sample_seeds=True),
    collate_fn=dict(_delete_=True, type='drop_bad_collate'),
    dataset=dict(_delete_=True, type='SampleSeededDataset', dataset=dict(
        type='FaceShardDataset', data_root={data_root!r}, shards='*.tar', cropped=True, on_bad='drop',
        min_checked=1000, pipeline=train_pipeline)))
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs={max_epochs})
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=-1))
custom_hooks = [
    dict(type='RNGStateHook'), dict(type='SkippedImagesHook'), dict(type='RecordTrainedSamplesHook'),
    dict(type='CrashSafeCheckpointHook', by_epoch=False, interval={ckpt_interval}, max_keep_ckpts=-1,
         save_last=False),
    {exit_hook}
]
"""
    return tiny_overrides(teacher, data_root, max_epochs=max_epochs, extra=extra)
