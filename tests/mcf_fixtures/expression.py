"""Tiny RAF-DB basic and AffectNet releases in their original file layouts (written into a test's tmp_path)."""

import csv
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

AFFECTNET_HEADER = (
    'subDirectory_filePath',
    'face_x',
    'face_y',
    'face_width',
    'face_height',
    'facial_landmarks',
    'expression',
    'valence',
    'arousal',
)


def _image(path: str, h: int, w: int, seed: int) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    assert cv2.imwrite(path, img)


def write_raf_db(root: str, train: Sequence[int], test: Sequence[int], size: int = 100) -> str:
    """RAF-DB ``basic`` layout: ``EmoLabel/list_patition_label.txt`` (1-based labels ``train``/``test``, in the
    release's line form) and ``Image/aligned/<name>_aligned.jpg`` (size x size); returns the root."""
    os.makedirs(osp.join(root, 'EmoLabel'), exist_ok=True)
    lines = [f'train_{i + 1:05d}.jpg {label}' for i, label in enumerate(train)]
    lines += [f'test_{i + 1:04d}.jpg {label}' for i, label in enumerate(test)]
    with open(osp.join(root, 'EmoLabel', 'list_patition_label.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    for k, line in enumerate(lines):
        stem = line.split()[0][: -len('.jpg')]
        _image(osp.join(root, 'Image', 'aligned', f'{stem}_aligned.jpg'), size, size, k)
    return root


def affectnet_row(
    path: str, expression: int, box: Tuple[int, int, int, int], valence: float = 0.25, arousal: float = -0.5
) -> List[str]:
    """One CSV row in the release's column order; ``box`` is (face_x, face_y, face_width, face_height)."""
    x, y, w, h = box
    landmarks = ';'.join(f'{v:.2f}' for v in np.linspace(x, x + w, 136))  # 68 points, the release's ';' form
    return [path, str(x), str(y), str(w), str(h), landmarks, str(expression), str(valence), str(arousal)]


def write_affectnet(
    root: str,
    train: Sequence[List[str]],
    val: Sequence[List[str]],
    header: Tuple[bool, bool] = (True, False),
    image_hw: Tuple[int, int] = (80, 96),
    absent: Optional[Sequence[str]] = (),
    list_dir: str = '',
) -> str:
    """AffectNet layout: ``training.csv`` / ``validation.csv`` (in ``list_dir`` below the root; with or without
    the header row) and ``Manually_Annotated_Images/<subDirectory_filePath>``; images named in ``absent`` are
    not written. Returns the root."""
    for name, rows, with_header in (('training.csv', train, header[0]), ('validation.csv', val, header[1])):
        os.makedirs(osp.join(root, list_dir), exist_ok=True)
        with open(osp.join(root, list_dir, name), 'w', newline='') as f:
            writer = csv.writer(f)
            if with_header:
                writer.writerow(AFFECTNET_HEADER)
            writer.writerows(rows)
    for k, row in enumerate(list(train) + list(val)):
        if row[0] not in absent:
            _image(osp.join(root, 'Manually_Annotated_Images', row[0]), *image_hw, seed=100 + k)
    return root
