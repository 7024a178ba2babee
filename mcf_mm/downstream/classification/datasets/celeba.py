"""CelebA's 40 binary face attributes, read from the original release files (mmpretrain multi-label convention).

Layout below ``data_root`` (the release as downloaded)::

    img_align_celeba/000001.jpg ...      202,599 aligned crops, 178x218
    list_attr_celeba.txt                 line 1: the count; line 2: the 40 names; then `000001.jpg -1 1 ...`
    list_eval_partition.txt              `000001.jpg 0` (0 train 162,770 / 1 val 19,867 / 2 test 19,962)
"""

import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmpretrain.datasets import MultiLabelDataset

from mcf_mm.registry import DATASETS

CELEBA_ATTRIBUTES = (
    '5_o_Clock_Shadow',
    'Arched_Eyebrows',
    'Attractive',
    'Bags_Under_Eyes',
    'Bald',
    'Bangs',
    'Big_Lips',
    'Big_Nose',
    'Black_Hair',
    'Blond_Hair',
    'Blurry',
    'Brown_Hair',
    'Bushy_Eyebrows',
    'Chubby',
    'Double_Chin',
    'Eyeglasses',
    'Goatee',
    'Gray_Hair',
    'Heavy_Makeup',
    'High_Cheekbones',
    'Male',
    'Mouth_Slightly_Open',
    'Mustache',
    'Narrow_Eyes',
    'No_Beard',
    'Oval_Face',
    'Pale_Skin',
    'Pointy_Nose',
    'Receding_Hairline',
    'Rosy_Cheeks',
    'Sideburns',
    'Smiling',
    'Straight_Hair',
    'Wavy_Hair',
    'Wearing_Earrings',
    'Wearing_Hat',
    'Wearing_Lipstick',
    'Wearing_Necklace',
    'Wearing_Necktie',
    'Young',
)
CELEBA_SPLITS = {'train': 0, 'val': 1, 'test': 2}


def _require(path: str, what: str) -> None:
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'CelebA {what} not found: {path}. Set data_root to the CelebA release folder (holding '
            'img_align_celeba/, list_attr_celeba.txt, list_eval_partition.txt), or ann_file / partition_file.'
        )


def read_partition(path: str) -> Dict[str, int]:
    """``list_eval_partition.txt`` -> {image name: 0 train | 1 val | 2 test}."""
    _require(path, 'partition file (list_eval_partition.txt)')
    out = {}
    with open(path) as f:
        for num, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or parts[1] not in ('0', '1', '2'):
                raise ValueError(f'{path}:{num}: expected "<image> <0|1|2>", got {line.strip()!r}.')
            out[parts[0]] = int(parts[1])
    return out


def read_attributes(path: str) -> tuple:
    """``list_attr_celeba.txt`` -> (names [40], {image name: [40] values in {-1, 1}})."""
    _require(path, 'attribute file (list_attr_celeba.txt)')
    with open(path) as f:
        lines = f.read().splitlines()
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise ValueError(
            f'{path}: expected the image count on line 1 and the attribute names on line 2 '
            '(the original list_attr_celeba.txt).'
        )
    count, names = int(lines[0]), lines[1].split()
    rows = {}
    for num, line in enumerate(lines[2:], 3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1:
            raise ValueError(
                f'{path}:{num}: {len(parts) - 1} values for {len(names)} attributes in {line[:60]!r}...; '
                'is the file truncated or edited?'
            )
        if any(v not in ('1', '-1') for v in parts[1:]):
            raise ValueError(f'{path}:{num}: attribute values must be 1 or -1, got {parts[1:]}.')
        rows[parts[0]] = [int(v) for v in parts[1:]]
    if len(rows) != count:
        raise ValueError(f'{path}: line 1 says {count} images, the file lists {len(rows)}.')
    return names, rows


@DATASETS.register_module()
class CelebAAttrDataset(MultiLabelDataset):
    """CelebA attributes from ``list_attr_celeba.txt`` and ``list_eval_partition.txt``.

    Each sample: ``img_path`` and ``gt_label`` = the indices (into ``metainfo['classes']``) of the attributes
    marked 1 (mmpretrain's multi-label convention; its heads turn it into a 0/1 vector).

    Args:
        data_root: the CelebA release folder.
        split: 'train' | 'val' | 'test' (partition 0 / 1 / 2).
        ann_file: the attribute file, relative to ``data_root``.
        partition_file: the partition file, relative to ``data_root``.
        data_prefix: dict(img_path=image folder relative to ``data_root``), default ``img_align_celeba``.
        attributes: optional subset of the 40 names (in the order wanted); ``gt_label`` then indexes it.
        **kwargs: the rest of mmpretrain's ``BaseDataset`` (pipeline, test_mode, indices, ...).
    """

    METAINFO = dict(classes=CELEBA_ATTRIBUTES)

    def __init__(
        self,
        data_root: str = '',
        split: str = 'train',
        ann_file: str = 'list_attr_celeba.txt',
        partition_file: str = 'list_eval_partition.txt',
        data_prefix: Optional[dict] = None,
        attributes: Optional[Sequence[str]] = None,
        **kwargs,
    ) -> None:
        if split not in CELEBA_SPLITS:
            raise ValueError(f'CelebAAttrDataset split must be one of {sorted(CELEBA_SPLITS)}, got {split!r}.')
        if attributes is not None:
            attributes = list(attributes)
            unknown = [a for a in attributes if a not in CELEBA_ATTRIBUTES]
            if unknown or not attributes or len(set(attributes)) != len(attributes):
                raise ValueError(
                    f'CelebAAttrDataset attributes must be distinct names among the 40 CelebA attributes; '
                    f'unknown: {unknown}, given: {attributes}. Names: {list(CELEBA_ATTRIBUTES)}.'
                )
            kwargs['metainfo'] = dict(kwargs.get('metainfo') or {}, classes=tuple(attributes))
        self.split, self.attributes = split, attributes
        self.partition_file = osp.join(data_root, partition_file) if data_root else partition_file
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix or dict(img_path='img_align_celeba'),
            **kwargs,
        )

    def load_data_list(self) -> List[dict]:
        names, rows = read_attributes(self.ann_file)
        if tuple(names) != CELEBA_ATTRIBUTES:
            raise ValueError(
                f'{self.ann_file}: the attribute names on line 2 are not the 40 CelebA names in release order.'
            )
        partition = read_partition(self.partition_file)
        missing = sorted(set(rows) - set(partition))
        if missing:
            raise ValueError(
                f'{len(missing)} images of {self.ann_file} have no partition in {self.partition_file} '
                f'(first: {missing[0]}): use the partition file of the same release.'
            )
        wanted = list(self.metainfo['classes'])
        cols = [names.index(a) for a in wanted]  # dataset class i <- file column cols[i]
        part, prefix = CELEBA_SPLITS[self.split], self.data_prefix['img_path']
        data_list = []
        for img, values in rows.items():  # file order = image number order
            if partition[img] != part:
                continue
            labels = [i for i, c in enumerate(cols) if values[c] == 1]
            data_list.append(dict(img_path=osp.join(prefix, img), gt_label=labels))
        return data_list
