"""AffectNet (manually annotated part) from its release files: ``training.csv`` / ``validation.csv`` and the images."""

import csv
import os.path as osp
import warnings
from typing import List, Optional, Tuple

import numpy as np
from mmpretrain.datasets import BaseDataset

from mcf_mm.registry import DATASETS

AFFECTNET_CLASSES: Tuple[str, ...] = ('Neutral', 'Happy', 'Sad', 'Surprise', 'Fear', 'Disgust', 'Anger', 'Contempt')
COLUMNS = (
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
CSV_FILES = dict(train='training.csv', val='validation.csv')
CSV_DIRS = ('', 'Manually_Annotated_file_lists')  # the CSVs at the root or in the release's list folder
IMG_DIR = 'Manually_Annotated_Images'
MISSING = ('error', 'skip')


def read_affectnet_csv(path: str) -> List[dict]:
    """Rows of an AffectNet CSV as dicts keyed by :data:`COLUMNS` (a header row, if present, is recognised)."""
    rows = []
    with open(path, newline='', encoding='utf-8') as f:
        for n, fields in enumerate(csv.reader(f), 1):
            if not fields or (n == 1 and fields[0].strip() == COLUMNS[0]):
                continue
            if len(fields) != len(COLUMNS):
                raise ValueError(
                    f'{path} line {n}: {len(fields)} fields, expected {len(COLUMNS)} ({", ".join(COLUMNS)}).'
                )
            rows.append(dict(zip(COLUMNS, fields), line=n))
    return rows


@DATASETS.register_module()
class AffectNetDataset(BaseDataset):
    """AffectNet expression recognition, 7 or 8 classes, on the manually annotated images.

    Layout below ``data_root``::

        training.csv, validation.csv          (or Manually_Annotated_file_lists/{training,validation}.csv)
        Manually_Annotated_Images/<subDirectory_filePath>

    ``split='val'`` reads ``validation.csv``, the official test set. Expressions 0 Neutral, 1 Happy, 2 Sad,
    3 Surprise, 4 Fear, 5 Disgust, 6 Anger, 7 Contempt are kept (``num_classes=8``) or without Contempt
    (``num_classes=7``); 8 and above (None, Uncertain, Non-Face) are always dropped. Each sample carries
    ``face_box`` = (face_x, face_y, face_x + face_width, face_y + face_height) for ``CropFaceBox``, and its
    ``valence`` / ``arousal``.

    Args:
        data_root: the AffectNet folder.
        split: 'train' (training.csv) or 'val' (validation.csv).
        num_classes: 7 or 8.
        missing: what to do with listed images absent from ``Manually_Annotated_Images``: 'error' (default)
            or 'skip' (dropped, counted and warned about with examples; ``self.skipped`` lists them).
        pipeline: transforms.
        **kwargs: passed to mmpretrain's ``BaseDataset`` (``test_mode`` defaults to ``split == 'val'``).
    """

    METAINFO = dict(classes=AFFECTNET_CLASSES)

    def __init__(
        self, data_root: str, split: str = 'train', num_classes: int = 7, missing: str = 'error', pipeline=(), **kwargs
    ) -> None:
        if split not in CSV_FILES:
            raise ValueError(f'AffectNetDataset split={split!r} is invalid; choose one of {tuple(CSV_FILES)}.')
        if num_classes not in (7, 8):
            raise ValueError(f'AffectNetDataset num_classes={num_classes} is invalid: 7 (no Contempt) or 8.')
        if missing not in MISSING:
            raise ValueError(f'AffectNetDataset missing={missing!r} is invalid; choose one of {MISSING}.')
        self.split, self.num_classes, self.missing = split, num_classes, missing
        self.skipped: List[str] = []
        kwargs.setdefault('test_mode', split == 'val')
        kwargs['metainfo'] = dict(kwargs.get('metainfo') or {}, classes=AFFECTNET_CLASSES[:num_classes])
        ann_file = self._find_csv(data_root, CSV_FILES[split])
        super().__init__(ann_file=ann_file, data_root=data_root, pipeline=pipeline, **kwargs)

    @staticmethod
    def _find_csv(data_root: str, name: str) -> str:
        """The CSV's path relative to ``data_root``, from the places a release puts it (the first that exists)."""
        for folder in CSV_DIRS:
            if osp.isfile(osp.join(data_root, folder, name)):
                return osp.join(folder, name)
        where = ' or '.join(osp.join(data_root, d, name) for d in CSV_DIRS)
        raise FileNotFoundError(
            f'AffectNet list {name} not found ({where}): data_root={data_root!r} must hold training.csv, '
            f'validation.csv and {IMG_DIR}/ (e.g. link the release to data/affectnet).'
        )

    def _parse(self, row: dict) -> Optional[dict]:
        """One CSV row -> a data dict, or None when its expression is not one of the kept classes."""
        try:
            expression = int(row['expression'])
            x, y, w, h = (float(row[k]) for k in ('face_x', 'face_y', 'face_width', 'face_height'))
            valence, arousal = float(row['valence']), float(row['arousal'])
        except ValueError as err:
            raise ValueError(f'{self.ann_file} line {row["line"]}: not a number ({err}).') from None
        if not 0 <= expression < self.num_classes:  # 7 Contempt when 7-way; 8+ None/Uncertain/Non-Face
            return None
        if w <= 0 or h <= 0:
            raise ValueError(f'{self.ann_file} line {row["line"]}: face_width={w}, face_height={h} must be > 0.')
        return dict(
            img_path=osp.join(self.data_root, IMG_DIR, row['subDirectory_filePath']),
            gt_label=expression,
            face_box=np.array([x, y, x + w, y + h], dtype=np.float32),  # x1, y1, x2, y2 pixels
            valence=valence,
            arousal=arousal,
        )

    def load_data_list(self) -> List[dict]:
        """The kept rows of the split's CSV whose image exists (missing images: error, or skipped and warned)."""
        img_dir = osp.join(self.data_root, IMG_DIR)
        if not osp.isdir(img_dir):
            raise FileNotFoundError(
                f"AffectNet image folder {img_dir} not found: unpack the release's {IMG_DIR} below data_root."
            )
        data_list = [d for d in map(self._parse, read_affectnet_csv(self.ann_file)) if d is not None]
        if not data_list:
            raise ValueError(f'{self.ann_file} has no row with expression 0..{self.num_classes - 1}.')
        exists = [osp.isfile(d['img_path']) for d in data_list]
        present = [d for d, ok in zip(data_list, exists) if ok]
        missing = [d['img_path'] for d, ok in zip(data_list, exists) if not ok]
        if missing and self.missing == 'error':
            raise FileNotFoundError(
                f'{len(missing)} of {len(data_list)} images listed in {self.ann_file} are missing, e.g. '
                f"{missing[:3]}; restore them, or pass missing='skip' to train without them (counted and warned)."
            )
        if missing:
            self.skipped = missing
            warnings.warn(
                f'AffectNet {self.split}: skipped {len(missing)} of {len(data_list)} listed images whose file is '
                f'missing, e.g. {missing[:5]} (the full list: dataset.skipped).',
                stacklevel=2,
            )
        return present
