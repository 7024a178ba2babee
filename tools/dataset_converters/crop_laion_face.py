"""Crop faces from LAION-Face-style detection metadata into a folder (or list file) for pre-training.

Metadata: a JSON Lines file, one object per image: {"image": "relative/or/absolute.jpg", "faces": [{"box":
[x1, y1, x2, y2], "landmarks": [[x, y] x 5], "score": 0.99}, ...]} (the fields LAION-Face's detections
provide). Every face with score >= --score-thr becomes a --size x --size PNG/JPEG crop with --margin.

Example:
    python tools/dataset_converters/crop_laion_face.py meta.jsonl --img-root images/ --out crops/ \
        --margin 0.3 --size 224 --score-thr 0.9
"""

import argparse
import json
import os
import os.path as osp

import cv2
import numpy as np
from tqdm import tqdm

from mcf_mm.datasets import ImageDecodeError, crop_face, decode_image, read_regular_file


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('meta', help='JSON Lines detection metadata')
    p.add_argument('--img-root', default='', help='folder the image paths are relative to')
    p.add_argument('--out', required=True, help='output folder for the crops')
    p.add_argument('--margin', type=float, default=0.3, help='box side fraction added on each side')
    p.add_argument('--size', type=int, default=224, help='output side in pixels')
    p.add_argument('--score-thr', type=float, default=0.9, help='minimum detection score')
    p.add_argument('--center', choices=['box', 'landmarks'], default='box', help='crop centre')
    p.add_argument('--ext', default='.jpg', choices=['.jpg', '.png'])
    p.add_argument(
        '--exif',
        choices=['apply', 'ignore'],
        default='apply',
        help='EXIF orientation: apply it (boxes detected on upright images, as cv2.imread and '
        'img2dataset give them) or ignore it (boxes detected on the stored pixels)',
    )
    p.add_argument('--list-file', help='also write the crop paths (relative to --out) to this file')
    return p.parse_args()


def main() -> None:
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    kept = skipped_score = bad_images = 0
    names = []
    with open(args.meta, encoding='utf-8') as f:
        lines = tqdm(f, desc='metadata lines', unit='line', disable=None)  # no bar when not a terminal
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            path = rec['image'] if osp.isabs(rec['image']) else osp.join(args.img_root, rec['image'])
            try:  # a FIFO, device or symlink loop is refused, never opened blocking
                img = decode_image(read_regular_file(path), exif_transpose=args.exif == 'apply')
            except (OSError, ImageDecodeError) as err:
                lines.write(f'line {line_no}: skipping {path}: {err}')
                bad_images += 1
                continue
            stem = osp.splitext(osp.basename(rec['image']))[0]
            for j, face in enumerate(rec.get('faces', [])):
                if face.get('score', 1.0) < args.score_thr:
                    skipped_score += 1
                    continue
                lms = np.asarray(face['landmarks']) if args.center == 'landmarks' else None
                crop = crop_face(img, face['box'], args.margin, args.size, lms)
                name = f'{stem}_{j}{args.ext}'
                cv2.imwrite(osp.join(args.out, name), crop)
                names.append(name)
                kept += 1
    if args.list_file:
        with open(args.list_file, 'w', encoding='utf-8') as f:
            f.write('\n'.join(names) + '\n')
    print(
        f'wrote {kept} crops to {args.out}; {skipped_score} faces below score {args.score_thr}; '
        f'{bad_images} unreadable images'
    )


if __name__ == '__main__':
    main()
