"""Tiny image-text tar shards (img2dataset layout) shared by the FaRL data and training tests."""

import io
import json
import os.path as osp
import tarfile

import numpy as np
from PIL import Image


def png_bytes(seed: int, size: int = 40) -> bytes:
    """A random RGB image of ``size`` px, PNG-encoded."""
    arr = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format='PNG')
    return buf.getvalue()


def _add(tar, name, data: bytes):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_shards(root, n_per_shard=3, shards=2, corrupt_key=None):
    """img2dataset layout: <key>.png/.jpg + <key>.txt + <key>.json; one sample without text."""
    for s in range(shards):
        with tarfile.open(osp.join(root, f'{s:05d}.tar'), 'w') as tar:
            for i in range(n_per_shard):
                key = f'{s:04d}{i:05d}'
                img = b'not an image' if key == corrupt_key else png_bytes(s * 10 + i)
                _add(tar, f'{key}.png', img)
                _add(tar, f'{key}.txt', f'face number {s * 10 + i}'.encode())
                _add(tar, f'{key}.json', json.dumps({'key': key}).encode())
            _add(tar, f'{s:04d}99999.png', png_bytes(99))  # no caption: skipped
