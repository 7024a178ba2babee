"""Predict face landmarks for one face with a given box (default: the whole image) with a face-alignment config
and checkpoint. Photos with face detection, folders and lists: tools/infer.py.

Example:
    python tools/infer_landmarks.py CONFIG CKPT face.jpg --box 10 20 200 230 --out-dir out/
writes out/face.json (keypoints in original-image pixels, scores, box) and out/face.png (points drawn).
"""

import argparse
import os
import os.path as osp

from mcf_mm.apis.alignment import detect_landmarks, init_landmark_model, save_landmarks
from mcf_mm.utils.cli import run_cli


def main() -> None:
    parser = argparse.ArgumentParser(description='Face landmark inference')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image')
    parser.add_argument(
        '--box',
        type=float,
        nargs=4,
        metavar=('X1', 'Y1', 'X2', 'Y2'),
        help='face box in pixels; default: the whole image',
    )
    parser.add_argument('--out-dir', default='.', help='folder for <name>.json and <name>.png')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    model = init_landmark_model(args.config, args.checkpoint, device=args.device)
    result = detect_landmarks(model, args.image, box=args.box)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.join(args.out_dir, osp.splitext(osp.basename(args.image))[0])
    save_landmarks(result, args.image, stem + '.json', stem + '.png')
    print(f'{len(result["keypoints"])} landmarks -> {stem}.json, {stem}.png')


if __name__ == '__main__':
    run_cli(main)
