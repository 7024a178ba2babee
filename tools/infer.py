"""Predict landmarks, parsing maps or labels on photos, folders and lists with any mcf_mm downstream config.

    python tools/infer.py CONFIG CHECKPOINT photo.jpg [folder/ list.txt ...] --out-dir work_dirs/infer/out

The task comes from the config (or --task). Faces are found by MTCNN and each box is mapped onto the box
convention the model was trained on; --no-detect treats every image as one pre-cropped face, --box gives the
face box (model convention) and --landmarks the 5 (or LaPa 106) points of a single image. Writes
<out>/<name>.json and pictures per image (see docs/inference.md) and <out>/results.json for all; images that
cannot be read or hold no face are listed there and at the end (exit status 2 if any failed).
"""

import argparse
import json
import os
import os.path as osp
import sys
import time

from mcf_mm.utils.cli import run_cli


def read_points(path: str):
    """A LaPa landmark file (count line, then ``x y`` lines) or plain ``x y`` lines; float32 [K, 2]."""
    import numpy as np

    if not osp.isfile(path):
        raise FileNotFoundError(f'landmark file not found: {path}')
    with open(path) as f:
        rows = [line.split() for line in f if line.strip()]
    if rows and len(rows[0]) == 1:
        rows = rows[1:]
    pts = np.asarray(rows, np.float32)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f'{path}: expected lines of "x y", got an array of shape {pts.shape}')
    return pts


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('inputs', nargs='+', help='image files, folders of images, .txt lists of image paths')
    parser.add_argument('--out-dir', default='work_dirs/infer/out')
    parser.add_argument('--task', choices=('landmarks', 'parsing', 'classification'), help='default: from the config')
    parser.add_argument('--no-detect', action='store_true', help='each image is one pre-cropped face')
    parser.add_argument('--box', type=float, nargs=4, metavar=('X1', 'Y1', 'X2', 'Y2'), help='face box, one image')
    parser.add_argument('--landmarks', nargs='+', help='one landmark file per image (5-point aligned parsing)')
    parser.add_argument('--detector', default='mtcnn')
    parser.add_argument('--min-score', type=float, default=0.9, help='detector score threshold')
    parser.add_argument('--max-faces', type=int, help='keep the highest-scoring faces per image')
    parser.add_argument('--batch-size', type=int, default=8, help='faces per forward pass')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mcf_mm.apis.inference import check_images, collect_images, init_model, predict, save_result

    # every check of the inputs before the model is built
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            raise FileNotFoundError(f'not found: {path}')
    images = collect_images(args.inputs)
    images, errors = check_images(images)
    for i, err in errors.items():
        print(f'warning: skipping {images[i]}: {err}', file=sys.stderr)
    boxes = landmarks = None
    if args.box is not None:
        if len(images) != 1:
            raise ValueError(f'--box is for one image, got {len(images)}: use --no-detect for pre-cropped faces')
        boxes = [args.box]
    if args.landmarks:
        if len(args.landmarks) != len(images):
            raise ValueError(f'{len(args.landmarks)} landmark files for {len(images)} images: give one per image')
        landmarks = [read_points(p) for p in args.landmarks]
    detector = None if args.no_detect else dict(type=args.detector, min_score=args.min_score)
    if detector is not None:
        from mcf_mm.detection import build_detector

        detector = build_detector(detector)

    model = init_model(args.config, args.checkpoint, args.device, args.cfg_options, args.task)
    t0 = time.perf_counter()
    results = predict(
        model,
        args.inputs,
        detector,
        boxes,
        landmarks,
        batch_size=args.batch_size,
        max_faces=args.max_faces,
        progress=sys.stderr.isatty(),  # a bar on a terminal only
    )
    seconds = time.perf_counter() - t0
    os.makedirs(args.out_dir, exist_ok=True)
    saved, used = [], {}
    for res in results:
        stem = osp.splitext(osp.basename(str(res['image'])))[0]
        used[stem] = used.get(stem, -1) + 1
        saved.append(save_result(res, model, args.out_dir, stem=stem if not used[stem] else f'{stem}_{used[stem]}'))
    summary = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        task=model.mcf_task,
        detector=None if args.no_detect else args.detector,
        seconds=round(seconds, 3),
        images=saved,
        failed=[dict(image=r['image'], error=r['error']) for r in saved if r['error']],
    )
    with open(osp.join(args.out_dir, 'results.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    faces = sum(len(r['faces']) for r in saved)
    print(f'{model.mcf_task}: {faces} faces in {len(saved)} images ({seconds:.1f} s) -> {args.out_dir}/results.json')
    for r in summary['failed']:
        print(f'failed: {r["image"]}: {r["error"]}')
    return 2 if summary['failed'] else 0


if __name__ == '__main__':
    status = []
    run_cli(lambda: status.append(main()), ValueError, KeyError)
    sys.exit(status[0] if status else 1)
