"""Tiny LAION-Face-style tar shards (img2dataset layout + detections) with known face boxes and broken members.

Every face is a filled rectangle of its own colour drawn at its box on a noise image, so a test can check a crop
both against ``crop_face`` of the decoded image and against the colour it must contain. The shards are written
with plain ``tarfile`` (not the code under test).
"""

import io
import json
import os.path as osp
import tarfile
from typing import List

import cv2
import numpy as np

BIG_BYTES = 30000  # the 'big' sample's image is larger than this; the regular ones are smaller


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def face_image(rng: np.random.Generator, h: int, w: int, faces: List[dict]) -> np.ndarray:
    """[h, w, 3] uint8 BGR noise with each face's box filled with its ``colour``."""
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    for f in faces:
        x1, y1, x2, y2 = (int(round(v)) for v in f['box'])
        img[y1:y2, x1:x2] = f['colour']
    return img


def encode(img: np.ndarray, ext: str) -> bytes:
    ok, buf = cv2.imencode('.' + ext, img)
    assert ok
    return buf.tobytes()


def _faces(rng: np.random.Generator, h: int, w: int, n: int) -> List[dict]:
    """``n`` faces with distinct integer boxes, colours, areas and scores (some below 0.9)."""
    out = []
    for j in range(n):
        bw, bh = int(rng.integers(8, w // 2)), int(rng.integers(8, h // 2))
        x1, y1 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
        score = float(np.round(rng.uniform(0.86, 1.0), 4))
        points = ((0.3, 0.4), (0.7, 0.4), (0.5, 0.6), (0.35, 0.8), (0.65, 0.8))  # eyes, nose, mouth corners
        lms = [[x1 + bw * fx, y1 + bh * fy] for fx, fy in points]
        colour = [int(c) for c in rng.integers(0, 256, 3)]
        out.append(dict(box=[x1, y1, x1 + bw, y1 + bh], landmarks=lms, score=score, colour=colour))
    return out


def write_face_shards(root: str, n_shards: int = 2, per_shard: int = 6, seed: int = 0, broken: bool = True) -> list:
    """Shards ``root/00000.tar ...``; returns one record per key in member order:
    dict(shard, shard_idx, key, kind, img (the pixels as stored: the drawn array for PNG, OpenCV's decoding for
    JPEG; None for 'bad_img'), lossless (PNG), faces (as in the json, plus each face's ``colour``)).

    kinds: 'ok'; with ``broken``: 'bad_img' (shard 0: image bytes that do not decode, 2 faces), 'no_face'
    (shard 0: every score below 0.5), 'invalid' (shard 0: one degenerate box besides a good face), 'bad_json'
    (shard 1: the json does not parse), 'no_image' (shard 1: json and txt only), 'big' (shard 1: an image over
    ``BIG_BYTES``).
    """
    rng = np.random.default_rng(seed)
    special = {(0, 1): 'bad_img', (0, 3): 'no_face', (0, 4): 'invalid', (1, 1): 'bad_json', (1, 2): 'no_image'}
    special[(1, 4)] = 'big'
    records = []
    for s in range(n_shards):
        path = osp.join(root, f'{s:05d}.tar')
        with tarfile.open(path, 'w') as tar:
            for i in range(per_shard):
                key = f'{s:04d}{i:05d}'
                kind = special.get((s, i), 'ok') if broken else 'ok'
                h, w = (140, 150) if kind == 'big' else (int(rng.integers(40, 64)), int(rng.integers(40, 64)))
                faces = _faces(rng, h, w, 2 if kind == 'bad_img' else int(rng.integers(1, 4)))
                if kind == 'no_face':
                    for f in faces:
                        f['score'] = 0.3
                if kind == 'invalid':
                    faces.insert(0, dict(box=[10, 10, 10, 30], landmarks=faces[0]['landmarks'], score=0.99))
                    faces[0]['colour'] = [0, 0, 0]
                img = face_image(rng, h, w, [f for f in faces if f['box'][2] > f['box'][0]])
                ext = 'png' if kind == 'big' or i % 2 else 'jpg'
                img_bytes = b'\xff\xd8\xff\xe0 not a jpeg' if kind == 'bad_img' else encode(img, ext)
                if kind == 'big':
                    assert len(img_bytes) > BIG_BYTES
                else:
                    assert len(img_bytes) < BIG_BYTES
                meta = dict(
                    key=key,
                    width=w,
                    height=h,
                    faces=[{k: v for k, v in f.items() if k != 'colour'} for f in faces],
                )
                if kind != 'no_image':
                    add_member(tar, f'{key}.{ext}', img_bytes)
                js = json.dumps(meta).encode()
                add_member(tar, f'{key}.json', js[:-5] if kind == 'bad_json' else js)
                add_member(tar, f'{key}.txt', f'photo {key}'.encode())
                decoded = img if ext == 'png' else cv2.imdecode(np.frombuffer(img_bytes, np.uint8), cv2.IMREAD_COLOR)
                if kind == 'bad_img':
                    decoded = None
                records.append(
                    dict(shard=path, shard_idx=s, key=key, kind=kind, img=decoded, lossless=ext == 'png', faces=faces)
                )
    return records
