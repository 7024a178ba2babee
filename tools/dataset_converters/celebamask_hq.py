"""Paint CelebAMask-HQ label images from the release's per-part masks (FaRL/MCF protocol).

Reads ``ROOT/CelebAMask-HQ-mask-anno/{k}/{idx:05d}_{part}.png`` and writes ``OUT/{idx}.png`` (512 px,
class ids of ``mcf_mm.downstream.parsing.CELEBAMASK_HQ_CLASSES``), painting parts in the order neck, skin, cloth, l_ear,
r_ear, l_brow, r_brow, l_eye, r_eye, nose, mouth, l_lip, u_lip, hair, eye_g, hat, ear_r, neck_l (later parts
overwrite earlier ones). With ``--partition`` it also writes ``train.txt`` / ``val.txt`` / ``test.txt``
(CelebA-HQ indices) from the CelebA-HQ-to-CelebA mapping and CelebA's list_eval_partition.txt.

    python tools/dataset_converters/celebamask_hq.py data/CelebAMask-HQ \
        --partition data/CelebAMask-HQ/list_eval_partition.txt --nproc 8
"""

import argparse
import os
import os.path as osp
import re
from multiprocessing import Pool
from typing import List, Optional

import cv2
from tqdm import tqdm

from mcf_mm.downstream.parsing.celebamask_hq import celebamask_hq_split, paint_celebamask_hq_label

_MASK_NAME = re.compile(r'^(\d{5})_[a-z_]+\.png$')


def list_indices(mask_root: str) -> List[int]:
    """All CelebA-HQ indices that have at least one part mask."""
    if not osp.isdir(mask_root):
        raise FileNotFoundError(
            f'{mask_root} not found: pass the CelebAMask-HQ release folder (it contains CelebAMask-HQ-mask-anno/)'
        )
    ids = set()
    for sub in os.listdir(mask_root):
        if sub.isdigit() and osp.isdir(osp.join(mask_root, sub)):
            for name in os.listdir(osp.join(mask_root, sub)):
                m = _MASK_NAME.match(name)
                if m:
                    ids.add(int(m.group(1)))
    return sorted(ids)


def _paint_one(args) -> None:
    mask_root, out_dir, idx, size = args
    cv2.imwrite(osp.join(out_dir, f'{idx}.png'), paint_celebamask_hq_label(mask_root, idx, size))


def convert(
    root: str, out_dir: Optional[str] = None, partition: Optional[str] = None, nproc: int = 1, size: int = 512
) -> int:
    """Paint every label image (and the split lists if ``partition`` is given). Returns the label count."""
    mask_root = osp.join(root, 'CelebAMask-HQ-mask-anno')
    out_dir = out_dir or osp.join(root, 'CelebAMask-HQ-label')
    os.makedirs(out_dir, exist_ok=True)
    jobs = [(mask_root, out_dir, idx, size) for idx in list_indices(mask_root)]
    bar = dict(total=len(jobs), desc='painting labels', unit='image', disable=None)  # no bar when not a terminal
    if nproc > 1:
        with Pool(nproc) as pool:
            for _ in tqdm(pool.imap_unordered(_paint_one, jobs, chunksize=64), **bar):
                pass
    else:
        for job in tqdm(jobs, **bar):
            _paint_one(job)
    if partition:
        splits = celebamask_hq_split(osp.join(root, 'CelebA-HQ-to-CelebA-mapping.txt'), partition)
        for name, ids in splits.items():
            with open(osp.join(root, f'{name}.txt'), 'w') as f:
                f.writelines(f'{i}\n' for i in ids)
            print(f'{name}: {len(ids)} images')
    return len(jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='CelebAMask-HQ release folder')
    parser.add_argument('--out-dir', help='label folder (default ROOT/CelebAMask-HQ-label)')
    parser.add_argument('--partition', help="CelebA's list_eval_partition.txt, to write the split lists")
    parser.add_argument('--nproc', type=int, default=1)
    parser.add_argument('--size', type=int, default=512)
    args = parser.parse_args()
    n = convert(args.root, args.out_dir, args.partition, args.nproc, args.size)
    print(f'painted {n} label images')


if __name__ == '__main__':
    main()
