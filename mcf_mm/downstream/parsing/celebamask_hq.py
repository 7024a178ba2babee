"""CelebAMask-HQ release helpers: the CelebA partition of its images and the painting of its per-part masks.

Used by :class:`~mcf_mm.downstream.parsing.datasets.CelebAMaskHQDataset` (the split) and by
``tools/dataset_converters/celebamask_hq.py`` (painting the label PNGs once).
"""

import os.path as osp
from typing import Dict, List

import cv2
import numpy as np

CELEBAMASK_HQ_CLASSES = (
    'background',
    'skin',
    'nose',
    'eye_g',
    'l_eye',
    'r_eye',
    'l_brow',
    'r_brow',
    'l_ear',
    'r_ear',
    'mouth',
    'u_lip',
    'l_lip',
    'hair',
    'hat',
    'ear_r',
    'neck_l',
    'neck',
    'cloth',
)
# Painting order of the per-part masks (later parts overwrite earlier ones), as in FaRL's preparation.
CELEBAMASK_HQ_PAINT_ORDER = (
    'neck',
    'skin',
    'cloth',
    'l_ear',
    'r_ear',
    'l_brow',
    'r_brow',
    'l_eye',
    'r_eye',
    'nose',
    'mouth',
    'l_lip',
    'u_lip',
    'hair',
    'eye_g',
    'hat',
    'ear_r',
    'neck_l',
)
CELEBA_PARTITIONS = {'train': 0, 'val': 1, 'test': 2}


def celebamask_hq_split(mapping_file: str, partition_file: str) -> Dict[str, List[int]]:
    """CelebA-HQ indices per CelebA partition (train 0, val 1, test 2), in CelebA-HQ index order.

    Args:
        mapping_file: ``CelebA-HQ-to-CelebA-mapping.txt`` (header, then ``idx orig_idx orig_file``).
        partition_file: CelebA's ``list_eval_partition.txt`` (``000001.jpg 0`` per line).
    """
    for path in (mapping_file, partition_file):
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{path} not found: CelebAMask-HQ splits need the CelebA-HQ-to-CelebA '
                'mapping (in the CelebAMask-HQ release) and CelebA list_eval_partition.txt'
            )
    partition = {}
    with open(partition_file) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                partition[parts[0]] = int(parts[1])
    splits: Dict[str, List[int]] = {name: [] for name in CELEBA_PARTITIONS}
    names = {v: k for k, v in CELEBA_PARTITIONS.items()}
    with open(mapping_file) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 3 or not parts[0].isdigit():
                continue  # header
            if parts[2] not in partition:
                raise KeyError(f'{parts[2]} (CelebA-HQ {parts[0]}) is not in {partition_file}')
            splits[names[partition[parts[2]]]].append(int(parts[0]))
    return splits


def paint_celebamask_hq_label(mask_root: str, index: int, size: int = 512) -> np.ndarray:
    """Paint one CelebAMask-HQ label image from its per-part masks, later parts overwriting earlier ones.

    Args:
        mask_root: ``CelebAMask-HQ-mask-anno`` (sub-folders 0..14 of 2000 images each).
        index: CelebA-HQ image index.
        size: label size (the masks are 512).

    Returns:
        [size, size] uint8 label with ids of :data:`CELEBAMASK_HQ_CLASSES`.
    """
    folder = osp.join(mask_root, str(index // 2000))
    label = np.zeros((size, size), np.uint8)
    for part in CELEBAMASK_HQ_PAINT_ORDER:
        path = osp.join(folder, f'{index:05d}_{part}.png')
        if not osp.isfile(path):
            continue
        mask = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise IOError(f'cannot decode {path}')
        if mask.shape != (size, size):
            mask = cv2.resize(mask, (size, size), interpolation=cv2.INTER_NEAREST)
        label[mask > 0] = CELEBAMASK_HQ_CLASSES.index(part)
    return label
