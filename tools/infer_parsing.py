"""Parse pre-cropped faces (whole image, or given landmarks) with a trained mcf_mm face-parsing checkpoint:
label PNG, colour label PNG and overlay PNG with a legend per image. Photos with face detection, folders and
lists: tools/infer.py.

    python tools/infer_parsing.py CONFIG CHECKPOINT face1.jpg [face2.jpg ...] --out-dir out/ \
        [--landmarks face1_landmarks.txt ...]   # LaPa-style txt (count line, then x y) or 5 'x y' lines
"""

import argparse
import os.path as osp

import numpy as np

from mcf_mm.apis.parsing import init_face_parser, parse_face, save_parsing
from mcf_mm.utils.cli import run_cli


def read_points(path: str) -> np.ndarray:
    """A LaPa landmark file (count line, then ``x y`` lines) or plain ``x y`` lines. Returns [K, 2]."""
    with open(path) as f:
        rows = [line.split() for line in f if line.strip()]
    if len(rows[0]) == 1:
        rows = rows[1:]
    return np.asarray(rows, np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description='face parsing inference')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+')
    parser.add_argument('--out-dir', default='parsing_out')
    parser.add_argument('--landmarks', nargs='*', help='one landmark file per image (configs aligning by them)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    if args.landmarks and len(args.landmarks) != len(args.images):
        raise SystemExit(f'{len(args.landmarks)} landmark files for {len(args.images)} images: give one per image')
    model = init_face_parser(args.config, args.checkpoint, device=args.device)
    palette = model.dataset_meta.get('palette')
    for i, path in enumerate(args.images):
        pts = read_points(args.landmarks[i]) if args.landmarks else None
        result = parse_face(model, path, landmarks=pts)
        stem = osp.splitext(osp.basename(path))[0]
        label_png, overlay_png = save_parsing(
            result, path, osp.join(args.out_dir, stem), palette=palette, classes=model.dataset_meta.get('classes')
        )
        print(f'{path}: {label_png}, {overlay_png}')


if __name__ == '__main__':
    run_cli(main)
