"""Face parsing datasets read from their release layouts (registered in mmseg's DATASETS).

- LaPa: ``{split}/images/*.jpg``, ``{split}/labels/*.png`` (11 classes), ``{split}/landmarks/*.txt``
  (106 points: a count line, then one ``x y`` line per point).
- CelebAMask-HQ: ``CelebA-HQ-img/{idx}.jpg`` plus label PNGs painted from ``CelebAMask-HQ-mask-anno`` by
  ``tools/dataset_converters/celebamask_hq.py``; the split comes from ``CelebA-HQ-to-CelebA-mapping.txt``
  and CelebA's ``list_eval_partition.txt`` (19 classes).
- FASSEG: V1/V2 frontal (images in ``V1/{Train,Test}_RGB``, index masks in ``V*/{Train,Test}_LabelIndex``)
  and V3 multi-pose (``V3/{Train,Test}_RGB/{pose}/`` with ``V3/{Train,Test}_labelindex/{pose}/``); 6 classes.
"""

import os
import os.path as osp
from typing import List

import numpy as np
from mmengine.logging import print_log
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS
from PIL import Image

from .celebamask_hq import CELEBA_PARTITIONS, CELEBAMASK_HQ_CLASSES, celebamask_hq_split

LAPA_CLASSES = (
    'background',
    'skin',
    'left_eyebrow',
    'right_eyebrow',
    'left_eye',
    'right_eye',
    'nose',
    'upper_lip',
    'inner_mouth',
    'lower_lip',
    'hair',
)
LAPA_FLIP_PAIRS = ((2, 3), (4, 5))
CELEBAMASK_HQ_FLIP_PAIRS = ((4, 5), (6, 7), (8, 9))
FASSEG_CLASSES = ('background', 'skin', 'hair', 'eyes', 'nose', 'mouth')


def _palette(n: int) -> List[List[int]]:
    rng = np.random.RandomState(7)
    pal = rng.randint(40, 256, size=(n, 3))
    pal[0] = 0
    return pal.tolist()


def read_lapa_landmarks(path: str) -> np.ndarray:
    """Read a LaPa landmark file: first line the point count N, then N lines ``x y``. Returns [N, 2]."""
    with open(path) as f:
        tokens = f.read().split()
    if not tokens:
        raise ValueError(f'empty LaPa landmark file: {path}')
    n = int(float(tokens[0]))
    values = np.asarray(tokens[1:], dtype=np.float32)
    if values.size != 2 * n:
        raise ValueError(
            f'{path}: header says {n} points but {values.size} numbers follow (need {2 * n}); '
            'the file is truncated or not in the LaPa format.'
        )
    return values.reshape(n, 2)  # [N, 2]


@DATASETS.register_module()
class LaPaDataset(BaseSegDataset):
    """LaPa (11 classes) with its 106-point landmarks in ``face_landmarks`` for 5-point alignment.

    Args:
        split: 'train', 'val' or 'test' (sub-folder of ``data_root``).
        **kwargs: BaseSegDataset arguments (data_root, pipeline, test_mode, ...).
    """

    METAINFO = dict(classes=LAPA_CLASSES, palette=_palette(len(LAPA_CLASSES)))

    def __init__(self, split: str = 'train', img_suffix: str = '.jpg', seg_map_suffix: str = '.png', **kwargs) -> None:
        self.split = split
        kwargs.setdefault('data_prefix', dict(img_path=f'{split}/images', seg_map_path=f'{split}/labels'))
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def load_data_list(self) -> List[dict]:
        img_dir = self.data_prefix['img_path']
        if not osp.isdir(img_dir):
            raise FileNotFoundError(
                f'LaPa images not found at {img_dir}: data_root must hold the LaPa '
                'release folders train/, val/, test/ (each with images/ labels/ landmarks/).'
            )
        lmk_dir = osp.join(osp.dirname(img_dir), 'landmarks')
        data_list = super().load_data_list()
        for info in data_list:
            stem = osp.splitext(osp.basename(info['img_path']))[0]
            path = osp.join(lmk_dir, stem + '.txt')
            if not osp.isfile(path):
                raise FileNotFoundError(f'LaPa landmark file missing: {path}')
            info['face_landmarks'] = read_lapa_landmarks(path)
        return data_list


@DATASETS.register_module()
class CelebAMaskHQDataset(BaseSegDataset):
    """CelebAMask-HQ (19 classes) with the CelebA train/val/test partition.

    Args:
        split: 'train' (24,183), 'val' (2,993) or 'test' (2,824).
        mapping_file / partition_file: relative to ``data_root`` unless absolute.
        img_dir / ann_dir: image folder of the release and label folder written by the converter.
    """

    METAINFO = dict(classes=CELEBAMASK_HQ_CLASSES, palette=_palette(len(CELEBAMASK_HQ_CLASSES)))

    def __init__(
        self,
        split: str = 'train',
        img_dir: str = 'CelebA-HQ-img',
        ann_dir: str = 'CelebAMask-HQ-label',
        mapping_file: str = 'CelebA-HQ-to-CelebA-mapping.txt',
        partition_file: str = 'list_eval_partition.txt',
        img_suffix: str = '.jpg',
        seg_map_suffix: str = '.png',
        **kwargs,
    ) -> None:
        if split not in CELEBA_PARTITIONS:
            raise ValueError(f'split must be one of {list(CELEBA_PARTITIONS)}, got {split!r}')
        self.split = split
        self.mapping_file, self.partition_file = mapping_file, partition_file
        kwargs.setdefault('data_prefix', dict(img_path=img_dir, seg_map_path=ann_dir))
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    def _root(self, path: str) -> str:
        return path if osp.isabs(path) or not self.data_root else osp.join(self.data_root, path)

    def load_data_list(self) -> List[dict]:
        ids = celebamask_hq_split(self._root(self.mapping_file), self._root(self.partition_file))[self.split]
        ann_dir = self.data_prefix['seg_map_path']
        if not osp.isdir(ann_dir):
            raise FileNotFoundError(
                f'{ann_dir} not found: paint the labels first with tools/dataset_converters/celebamask_hq.py'
            )
        return [
            dict(
                img_path=osp.join(self.data_prefix['img_path'], f'{i}{self.img_suffix}'),
                seg_map_path=osp.join(ann_dir, f'{i}{self.seg_map_suffix}'),
                label_map=self.label_map,
                reduce_zero_label=False,
                seg_fields=[],
            )
            for i in ids
        ]


def _find_dir(root: str, *names: str) -> str:
    """The first sub-folder of ``root`` matching one of ``names`` case-insensitively."""
    if osp.isdir(root):
        entries = {e.lower(): e for e in os.listdir(root)}
        for name in names:
            if name.lower() in entries:
                return osp.join(root, entries[name.lower()])
    raise FileNotFoundError(f'none of {names} found under {root}; is data_root the FASSEG folder?')


@DATASETS.register_module()
class FASSEGDataset(BaseSegDataset):
    """FASSEG face segmentation (6 classes) from its repository layout.

    Image/label pairs whose sizes differ (4 of the 96 V3 test pairs) are dropped with a warning: their
    labels cannot be compared with a prediction at the image's resolution.

    Args:
        version: 'V1', 'V2' (frontal; images from V1) or 'V3' (13 yaw poses).
        split: 'train' or 'test'.
    """

    METAINFO = dict(
        classes=FASSEG_CLASSES,
        palette=[[255, 0, 0], [255, 255, 0], [127, 0, 0], [0, 0, 255], [0, 255, 255], [0, 255, 0]],
    )  # RGB colours of the release's colour labels

    def __init__(self, version: str = 'V2', split: str = 'train', **kwargs) -> None:
        if version not in ('V1', 'V2', 'V3') or split not in ('train', 'test'):
            raise ValueError(f'FASSEG version must be V1/V2/V3 and split train/test, got {version!r}, {split!r}')
        self.version, self.split = version, split
        super().__init__(img_suffix='.png', seg_map_suffix='.png', **kwargs)

    def load_data_list(self) -> List[dict]:
        root = self.data_root or ''
        s = self.split.capitalize()
        img_dir = _find_dir(osp.join(root, 'V3' if self.version == 'V3' else 'V1'), f'{s}_RGB')
        ann_dir = _find_dir(osp.join(root, self.version), f'{s}_LabelIndex')
        pairs = []
        for dirpath, _, files in sorted(os.walk(img_dir)):
            for name in sorted(files):
                if name.endswith('.png'):
                    rel = osp.relpath(osp.join(dirpath, name), img_dir)
                    pairs.append((osp.join(img_dir, rel), osp.join(ann_dir, rel)))
        data_list, dropped = [], []
        for img, ann in pairs:
            if not osp.isfile(ann) or Image.open(img).size != Image.open(ann).size:
                dropped.append(osp.relpath(img, root))
                continue
            data_list.append(
                dict(img_path=img, seg_map_path=ann, label_map=self.label_map, reduce_zero_label=False, seg_fields=[])
            )
        if dropped:
            print_log(
                f'FASSEG {self.version} {self.split}: dropped {len(dropped)} of {len(pairs)} images whose '
                f'label is missing or of another size: {dropped}',
                logger='current',
                level=30,
            )
        if not data_list:
            raise FileNotFoundError(f'no FASSEG {self.version} {self.split} pairs under {root}')
        return data_list
