"""RAF-DB basic (7 expressions) from its release files: the partition/label list and the aligned 100x100 faces."""

import os.path as osp
from typing import List, Tuple

from mmpretrain.datasets import BaseDataset

from mcf_mm.registry import DATASETS

RAF_DB_CLASSES: Tuple[str, ...] = ('Surprise', 'Fear', 'Disgust', 'Happiness', 'Sadness', 'Anger', 'Neutral')
LABEL_FILE = 'EmoLabel/list_patition_label.txt'  # the release's spelling ("patition")
ALIGNED_DIR = 'Image/aligned'
SPLITS = ('train', 'test')


def aligned_name(name: str) -> str:
    """``train_00001.jpg`` -> ``train_00001_aligned.jpg`` (the release's aligned file of a listed image)."""
    stem, ext = osp.splitext(name)
    return f'{stem}_aligned{ext}'


def read_partition_labels(path: str) -> List[Tuple[str, int]]:
    """Read ``list_patition_label.txt``: lines ``train_00001.jpg 5`` -> [(name, 0-based label)].

    The release's labels are 1-based (1 Surprise ... 7 Neutral); a line that is not ``<name> <1..7>`` is an error
    naming the line.
    """
    rows = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isdigit() or not 1 <= int(parts[1]) <= len(RAF_DB_CLASSES):
                raise ValueError(
                    f'{path} line {n}: expected "<image>.jpg <label 1..7>" (RAF-DB basic), got {line.strip()!r}.'
                )
            rows.append((parts[0], int(parts[1]) - 1))
    return rows


@DATASETS.register_module()
class RAFDBDataset(BaseDataset):
    """RAF-DB basic expression recognition on the release's aligned faces (7 classes, labels 0-based).

    Layout below ``data_root`` (the ``basic`` folder of the release)::

        EmoLabel/list_patition_label.txt     train_00001.jpg 5 / test_0001.jpg 7 (labels 1..7)
        Image/aligned/train_00001_aligned.jpg ...  (100x100 aligned faces)

    ``split='train'`` keeps the 12,271 ``train_*`` lines, ``split='test'`` the 3,068 ``test_*`` lines (RAF-DB
    has no official validation split). Only the official aligned images are read; the ``Image/original`` photos
    with ``Annotation/boxes`` are not supported.

    Args:
        data_root: the RAF-DB ``basic`` folder.
        split: 'train' or 'test'.
        pipeline: transforms (the first is usually ``LoadImageFromFile``).
        **kwargs: passed to mmpretrain's ``BaseDataset`` (``test_mode`` defaults to ``split == 'test'``).
    """

    METAINFO = dict(classes=RAF_DB_CLASSES)

    def __init__(self, data_root: str, split: str = 'train', pipeline=(), **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'RAFDBDataset split={split!r} is invalid; choose one of {SPLITS}.')
        self.split = split
        kwargs.setdefault('test_mode', split == 'test')
        super().__init__(ann_file=LABEL_FILE, data_root=data_root, pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """One dict per image of the split: ``img_path`` (the aligned file) and ``gt_label`` (0..6)."""
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f"RAF-DB label file {self.ann_file} not found: data_root={self.data_root!r} must be the release's "
                f'"basic" folder holding {LABEL_FILE} and {ALIGNED_DIR}/ (e.g. link it to data/raf-db).'
            )
        prefix = f'{self.split}_'
        rows = [(name, label) for name, label in read_partition_labels(self.ann_file) if name.startswith(prefix)]
        if not rows:
            raise ValueError(f'{self.ann_file} lists no "{self.split}_*" image; is it the RAF-DB basic label file?')
        img_dir = osp.join(self.data_root, ALIGNED_DIR)
        data_list = [dict(img_path=osp.join(img_dir, aligned_name(n)), gt_label=label) for n, label in rows]
        missing = [d['img_path'] for d in data_list if not osp.isfile(d['img_path'])]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} of {len(data_list)} RAF-DB {self.split} images are missing, e.g. {missing[0]}: '
                f"unpack the release's aligned faces into {img_dir}/ (files <name>_aligned.jpg)."
            )
        return data_list
