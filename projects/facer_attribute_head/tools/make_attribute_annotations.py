"""Write mmpretrain MultiLabelDataset annotation files (train/val JSON) for face attributes.

Formats:
  celeba   CelebA's list_attr_celeba.txt (+ list_eval_partition.txt for the official split): 40 attributes.
  utkface  UTKFace file names ``age_gender_race_*.jpg``: 7 attributes derived from the labels
           (female, child <13, elderly >=60, white, black, asian, indian); every 5th image -> val;
           --limit keeps a seeded random subset.

Usage:
  python projects/facer_attribute_head/tools/make_attribute_annotations.py utkface IMG_DIR OUT_DIR [--limit N]
      [--exclude NAMES_TXT]
  python projects/facer_attribute_head/tools/make_attribute_annotations.py celeba ATTR_TXT OUT_DIR --partition P
"""

import argparse
import json
import os
import os.path as osp
import random
from typing import Dict, List, Optional, Tuple

UTK_ATTRIBUTES = ['female', 'child', 'elderly', 'white', 'black', 'asian', 'indian']


def utkface_labels(name: str) -> Optional[List[int]]:
    """Positive attribute indices for a UTKFace file name, or None if it does not parse."""
    parts = name.split('_')
    try:
        age, gender, race = int(parts[0]), int(parts[1]), int(parts[2])
    except (ValueError, IndexError):
        return None
    flags = [gender == 1, age < 13, age >= 60, race == 0, race == 1, race == 2, race == 3]
    return [i for i, f in enumerate(flags) if f]


def from_utkface(
    img_dir: str, limit: Optional[int] = None, exclude: Optional[set] = None
) -> Tuple[List[str], Dict[str, List[dict]]]:
    names = sorted(
        n for n in os.listdir(img_dir) if n.lower().endswith(('.jpg', '.png')) and n not in (exclude or set())
    )
    rows = [(n, utkface_labels(n)) for n in names]
    rows = [(n, lab) for n, lab in rows if lab is not None]
    if limit is not None and limit < len(rows):  # a seeded random subset: sorted names are ordered by age
        keep = sorted(random.Random(0).sample(range(len(rows)), limit))
        rows = [rows[i] for i in keep]
    splits = {'train': [], 'val': []}
    for i, (n, lab) in enumerate(rows):
        splits['val' if i % 5 == 4 else 'train'].append(dict(img_path=n, gt_label=lab))
    return UTK_ATTRIBUTES, splits


def from_celeba(attr_txt: str, partition: Optional[str]) -> Tuple[List[str], Dict[str, List[dict]]]:
    """CelebA's files read by mcf_mm's own readers (the ones ``CelebAAttrDataset`` uses, which reads the release
    directly: configs need no JSON for CelebA); without a partition file every image goes to train."""
    from mcf_mm.downstream.classification.datasets.celeba import read_attributes, read_partition

    names, rows = read_attributes(attr_txt)
    part = read_partition(partition) if partition else {}
    splits = {'train': [], 'val': [], 'test': []}
    for f, vals in rows.items():
        labels = [i for i, v in enumerate(vals) if v == 1]
        splits[('train', 'val', 'test')[part.get(f, 0)]].append(dict(img_path=f, gt_label=labels))
    return names, splits


def main(argv=None) -> Dict[str, str]:
    parser = argparse.ArgumentParser(description='Face attribute annotations for MultiLabelDataset.')
    parser.add_argument('format', choices=['utkface', 'celeba'])
    parser.add_argument('src', help='UTKFace image folder, or CelebA list_attr_celeba.txt')
    parser.add_argument('out_dir')
    parser.add_argument('--partition', help='CelebA list_eval_partition.txt')
    parser.add_argument('--limit', type=int, default=None)
    parser.add_argument('--exclude', help='text file of image names to leave out (e.g. those seen in pre-training)')
    args = parser.parse_args(argv)
    if args.format == 'utkface':
        exclude = set(open(args.exclude).read().split()) if args.exclude else None
        classes, splits = from_utkface(args.src, args.limit, exclude)
    else:
        classes, splits = from_celeba(args.src, args.partition)
    os.makedirs(args.out_dir, exist_ok=True)
    written = {}
    for split, rows in splits.items():
        if rows:
            path = osp.join(args.out_dir, f'{split}.json')
            with open(path, 'w') as f:
                json.dump(dict(metainfo=dict(classes=classes), data_list=rows), f)
            written[split] = path
            print(f'{split}: {len(rows)} images -> {path}')
    return written


if __name__ == '__main__':
    main()
