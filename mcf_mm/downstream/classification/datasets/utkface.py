"""UTKFace (Zhang, Song & Qi, CVPR'17) from its original release: a folder of aligned and cropped faces named
``age_gender_race_date.jpg.chip.jpg``, the labels living in the file names only.

- age: integer years (0-116 in the release); gender: 0 male, 1 female; race: 0 White, 1 Black, 2 Asian,
  3 Indian, 4 Others (e.g. Hispanic, Latino, Middle Eastern).
- The release defines no split. :func:`utkface_split` gives a fixed one from a hash of the file name alone
  (70 % train, 10 % val, 20 % test), so a file keeps its split when other files are added or removed.
"""

import hashlib
import os
import os.path as osp
import re
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset

from mcf_mm.datasets.face_image import build_pipeline
from mcf_mm.registry import DATASETS

GENDERS = ('male', 'female')
RACES = ('White', 'Black', 'Asian', 'Indian', 'Others')
TASKS = ('age', 'gender', 'race')
SPLITS = ('train', 'val', 'test', 'trainval', 'all')
# Buckets of the file-name hash (0..99): [0, 70) train, [70, 80) val, [80, 100) test.
SPLIT_BUCKETS = {'train': (0, 70), 'val': (70, 80), 'test': (80, 100), 'trainval': (0, 80), 'all': (0, 100)}
NAME_RE = re.compile(r'^(\d+)_(\d+)_(\d+)_(\d+)\.jpg\.chip\.jpg$')
SUFFIX = '.jpg.chip.jpg'


def split_bucket(file_name: str) -> int:
    """Bucket 0..99 of a file: the first 8 bytes of SHA-1 of its base name (UTF-8), as a big-endian int,
    modulo 100. It depends on the base name only (not the folder, not the other files)."""
    digest = hashlib.sha1(osp.basename(file_name).encode('utf-8')).digest()
    return int.from_bytes(digest[:8], 'big') % 100


def utkface_split(file_name: str) -> str:
    """'train', 'val' or 'test' for one file name (see :func:`split_bucket` and ``SPLIT_BUCKETS``)."""
    b = split_bucket(file_name)
    return 'train' if b < 70 else ('val' if b < 80 else 'test')


def parse_name(file_name: str) -> Optional[Tuple[int, int, int]]:
    """(age, gender, race) from ``age_gender_race_date.jpg.chip.jpg``, or None when the name is malformed
    (fields missing, not integers, gender not 0/1, race not 0-4)."""
    m = NAME_RE.match(osp.basename(file_name))
    if m is None:
        return None
    age, gender, race = (int(g) for g in m.groups()[:3])
    if gender not in (0, 1) or not 0 <= race < len(RACES):
        return None
    return age, gender, race


def scan_utkface(root: str) -> Tuple[List[str], List[str]]:
    """Sorted paths (relative to ``root``) of every ``*.jpg.chip.jpg`` under ``root``: (well-formed, malformed)."""
    good, bad = [], []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(SUFFIX):
                rel = osp.relpath(osp.join(folder, name), root)
                (good if parse_name(name) is not None else bad).append(rel)
    return sorted(good), sorted(bad)


@DATASETS.register_module()
class UTKFaceDataset(BaseDataset):
    """UTKFace aligned crops for one task, read from the file names under ``data_root`` (searched recursively,
    so both the release's ``UTKFace/`` folder and a copy in sub-folders work).

    Args:
        data_root: folder holding the ``age_gender_race_date.jpg.chip.jpg`` files (at any depth).
        task: 'age' (``gt_value`` float32 [1], years), 'gender' (``gt_label`` 0 male / 1 female) or
            'race' (``gt_label`` 0-4: White, Black, Asian, Indian, Others).
        split: 'train', 'val', 'test' (:func:`utkface_split`), 'trainval' or 'all'.
        min_age, max_age: keep only faces with min_age <= age <= max_age (None: no bound).
        pipeline: mmpretrain transforms (start with ``LoadImageFromFile``).
        ann_file: unused (the file names are the annotation); must stay ''.
    Malformed names (the release has a few with a missing field) are skipped and counted in a warning.
    """

    def __init__(
        self,
        data_root: str,
        task: str = 'age',
        split: str = 'train',
        min_age: Optional[int] = None,
        max_age: Optional[int] = None,
        pipeline: Sequence = (),
        ann_file: str = '',
        **kwargs,
    ) -> None:
        if task not in TASKS:
            raise ValueError(f'UTKFaceDataset: task={task!r} is not one of {TASKS}.')
        if split not in SPLITS:
            raise ValueError(f'UTKFaceDataset: split={split!r} is not one of {SPLITS}.')
        if ann_file:
            raise ValueError(
                'UTKFaceDataset reads its labels from the file names; leave ann_file empty and set data_root '
                'to the folder of *.jpg.chip.jpg files.'
            )
        self.task, self.split, self.min_age, self.max_age = task, split, min_age, max_age
        self.num_malformed = 0
        classes = {'gender': GENDERS, 'race': RACES}.get(task)
        metainfo = dict(classes=classes) if classes else None
        super().__init__(
            ann_file='', data_root=data_root, metainfo=metainfo, pipeline=build_pipeline(pipeline), **kwargs
        )

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        if not root or not osp.isdir(root):
            raise FileNotFoundError(
                f'UTKFace folder not found: {root!r}; set data_root to the folder of the aligned crops '
                '(UTKFace.tar.gz unpacks to UTKFace/, files named age_gender_race_date.jpg.chip.jpg).'
            )
        good, bad = scan_utkface(root)
        self.num_malformed = len(bad)
        if bad:
            warnings.warn(
                f'UTKFaceDataset: skipped {len(bad)} file(s) under {root} whose names are not '
                f'age_gender_race_date.jpg.chip.jpg with gender 0/1 and race 0-4, e.g. {bad[:3]}.',
                stacklevel=2,
            )
        if not good:
            raise ValueError(
                f'no UTKFace crops (age_gender_race_date{SUFFIX}) under {root!r}'
                f'{f" ({len(bad)} malformed names)" if bad else ""}; set data_root to the folder of the aligned '
                'and cropped faces (the "in-the-wild" .jpg parts are a different release).'
            )
        lo, hi = SPLIT_BUCKETS[self.split]
        data_list = []
        for rel in good:
            age, gender, race = parse_name(rel)
            if not lo <= split_bucket(rel) < hi:
                continue
            if (self.min_age is not None and age < self.min_age) or (self.max_age is not None and age > self.max_age):
                continue
            info: Dict = dict(img_path=osp.join(root, rel), age=age, gender=gender, race=race)
            if self.task == 'age':
                info['gt_value'] = np.array([age], dtype=np.float32)  # [1]
            else:
                info['gt_label'] = gender if self.task == 'gender' else race
            data_list.append(info)
        if not data_list:
            raise ValueError(
                f'UTKFaceDataset: split={self.split!r} (ages {self.min_age}..{self.max_age}) of {root!r} is empty '
                f'({len(good)} well-formed files in all); use split="all" for a tiny folder or widen the age range.'
            )
        return data_list

    def extra_repr(self) -> List[str]:
        return [f'Task: {self.task}', f'Split: {self.split}', f'Malformed names skipped: {self.num_malformed}']
