"""Write the frame cache of an anti-spoofing release: the sampled frames as images, their face boxes, and each
video's frame count (counted by decoding), for ``AntiSpoofingDataset(frame_cache=OUT)``.

Every video of the chosen splits is decoded front to back twice (to count its frames, then to keep them); the
frames that the dataset will sample (``--num-frames`` K1 K2 ..., the union over the Ks, ``--frame-rule``) are written
to ``OUT/<video id>/<frame:05d>.<ext>`` as full frames (the crop happens in the pipeline, so its padding stays a
config value); ``--context C`` writes only the square about the box that a ``CropFaceBox`` margin up to C reads
(OULU-NPU's frames are 1920 x 1080 per bob.db.oulunpu), with the boxes relative to it. Boxes (x1, y1, x2, y2
pixels) come from:

* ``--boxes provided``: Replay-Attack's face-locations files or OULU-NPU's eye positions (as the dataset reads them);
* ``--boxes mtcnn``: facenet-pytorch's MTCNN on each written frame (the most confident face); this tool does not
  install it: ``pip install facenet-pytorch``;
* ``--boxes FILE.json``: ``{video id: {frame: [x1, y1, x2, y2]}}`` from a detector run elsewhere.

A frame without a box takes the box of the nearest frame that has one. ``OUT/index.json`` holds
``{video: {num_video_frames, frames: {frame: path}, boxes: {frame: box}, origins: {frame: [x0, y0]}}}`` and
``OUT/boxes.json`` the boxes alone in frame coordinates (a ``box_file=`` for decoding without the cache).

    python tools/dataset_converters/anti_spoofing_frames.py replay-attack data/replay-attack \
        data/fas-frames/replay-attack --num-frames 8 2 --boxes provided
"""

import argparse
import json
import os
import os.path as osp
import sys
from typing import Callable, Dict, List, Optional, Sequence

import cv2
import numpy as np

from mcf_mm.downstream.classification.datasets.anti_spoofing import (
    DATABASES,
    FRAME_RULES,
    SPLITS,
    AntiSpoofingDataset,
    nearest_box,
    sample_frame_indices,
)
from mcf_mm.utils.fileio import atomic_write_bytes

Detector = Callable[[np.ndarray], Optional[List[float]]]


def mtcnn_detector(device: str = 'cpu') -> Detector:
    """facenet-pytorch's MTCNN as ``BGR frame -> most confident box or None``; fails at once if not installed."""
    try:
        from facenet_pytorch import MTCNN
    except ImportError as err:
        raise SystemExit(
            f'error: --boxes mtcnn needs facenet-pytorch ({err}); install it with `pip install facenet-pytorch` '
            'or pass --boxes FILE.json from another detector.'
        ) from None
    mtcnn = MTCNN(keep_all=True, device=device)

    def detect(frame: np.ndarray) -> Optional[List[float]]:
        boxes, probs = mtcnn.detect(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        if boxes is None or len(boxes) == 0:
            return None
        return [float(v) for v in boxes[int(np.argmax(probs))]]

    return detect


def decode_frames(path: str, keep: Sequence[int]) -> tuple:
    """Decode ``path`` front to back: (frame count, {index: frame} for the indices in ``keep``)."""
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise FileNotFoundError(f'OpenCV cannot open the video {path}.')
    wanted, frames, n = set(keep), {}, 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if n in wanted:
                frames[n] = frame
            n += 1
    finally:
        cap.release()
    return n, frames


def context_crop(img: np.ndarray, box: Sequence[float], context: float) -> tuple:
    """The part of ``img`` that a ``CropFaceBox`` margin up to ``context`` can read: the square about the box
    centre of side longer side x (1 + 2 context), plus 2 pixels for interpolation, clipped to the frame.
    Returns (crop, (x0, y0)) with (x0, y0) its top-left corner in the frame."""
    x1, y1, x2, y2 = map(float, box)
    half = max(x2 - x1, y2 - y1) * (1 + 2 * context) / 2 + 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    h, w = img.shape[:2]
    x0, y0 = max(0, int(np.floor(cx - half))), max(0, int(np.floor(cy - half)))
    xe, ye = min(w, int(np.ceil(cx + half))), min(h, int(np.ceil(cy + half)))
    return img[y0:ye, x0:xe], (x0, y0)


def build_cache(
    database: str,
    data_root: str,
    out: str,
    splits: Sequence[str],
    num_frames: Sequence[int],
    frame_rule: str = 'uniform',
    boxes: str = 'provided',
    ext: str = 'png',
    device: str = 'cpu',
    context: Optional[float] = None,
    dataset_kwargs: Optional[dict] = None,
) -> Dict[str, dict]:
    """Write the cache (see the module docstring) and return its index."""
    if boxes == 'provided' and database not in ('replay-attack', 'oulu-npu'):
        raise SystemExit(f'error: {database} ships no face boxes: use --boxes mtcnn or --boxes FILE.json.')
    given = None
    if boxes not in ('provided', 'mtcnn'):
        if not osp.isfile(boxes):
            raise SystemExit(f'error: --boxes {boxes}: not "provided", "mtcnn" or an existing JSON file.')
        given = json.load(open(boxes))
    detect = mtcnn_detector(device) if boxes == 'mtcnn' else None
    ds = AntiSpoofingDataset(
        data_root, database, splits=splits, lazy_init=True, require_boxes=False, **(dataset_kwargs or {})
    )
    videos = ds.list_videos()
    index: Dict[str, dict] = {}
    for entry in videos:
        vid, path = entry['video'], entry['video_path']
        n_count, _ = decode_frames(path, ())
        keep = sorted({f for k in num_frames for f in sample_frame_indices(n_count, k, frame_rule)})
        n, frames = decode_frames(path, keep)
        if n != n_count or len(frames) != len(keep):
            raise RuntimeError(f'{path} decoded to {n} frames, then to {n_count}: the file is unreadable.')
        if boxes == 'provided':
            src = ds.provided_boxes(entry) or {}
        elif given is not None:
            src = {int(k): v for k, v in given.get(vid, {}).items()}
        else:
            src = {}
        found = {f: (detect(frames[f]) if detect is not None else nearest_box(src, f)) for f in keep}
        found = {f: b for f, b in found.items() if b is not None}
        rec = dict(num_video_frames=n, frames={}, boxes={}, origins={})
        os.makedirs(osp.join(out, vid), exist_ok=True)
        for f in keep:
            box = nearest_box(found, f)  # a frame MTCNN missed takes its nearest detection
            img, origin = frames[f], (0, 0)
            if context is not None and box is not None:
                img, origin = context_crop(img, box, context)
                box = [box[0] - origin[0], box[1] - origin[1], box[2] - origin[0], box[3] - origin[1]]
            rel = f'{vid}/{f:05d}.{ext}'
            ok, buf = cv2.imencode('.' + ext, img)
            if not ok:
                raise RuntimeError(f'cannot encode frame {f} of {vid} as .{ext}.')
            atomic_write_bytes(buf.tobytes(), osp.join(out, rel))
            rec['frames'][str(f)] = rel
            rec['origins'][str(f)] = list(origin)
            if box is not None:
                rec['boxes'][str(f)] = [float(v) for v in box]
        index[vid] = rec
    os.makedirs(out, exist_ok=True)
    atomic_write_bytes(json.dumps(index, indent=1).encode(), osp.join(out, 'index.json'))
    box_only = {  # frame coordinates: the cache's boxes plus the origin of their crop
        v: {
            f: [
                b[0] + r['origins'][f][0],
                b[1] + r['origins'][f][1],
                b[2] + r['origins'][f][0],
                b[3] + r['origins'][f][1],
            ]
            for f, b in r['boxes'].items()
        }
        for v, r in index.items()
    }
    atomic_write_bytes(json.dumps(box_only, indent=1).encode(), osp.join(out, 'boxes.json'))
    missing = [v for v, r in index.items() if not r['boxes']]
    print(
        f'{database}: {len(index)} videos, {sum(len(r["frames"]) for r in index.values())} frames -> {out}'
        + (f'; {len(missing)} videos without any face box (e.g. {missing[0]})' if missing else '')
    )
    return index


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('database', choices=DATABASES)
    p.add_argument('data_root', help='the release folder (layout: configs/face_classification/anti_spoofing/README.md)')
    p.add_argument('out', help="cache folder (the dataset's frame_cache=)")
    p.add_argument('--splits', nargs='+', help="the release's groups (default: all of them)")
    p.add_argument('--num-frames', nargs='+', type=int, default=[1, 2], help='every K the configs sample')
    p.add_argument('--frame-rule', choices=FRAME_RULES, default='uniform')
    p.add_argument('--boxes', default='provided', help='provided | mtcnn | FILE.json')
    p.add_argument('--ext', default='png', choices=['png', 'jpg'], help='png (lossless, default) or jpg')
    p.add_argument('--device', default='cpu', help='MTCNN device')
    p.add_argument('--replay-face-dir', default='face-locations', help="Replay-Attack's face-locations folder")
    p.add_argument('--oulu-protocol', help='OULU-NPU: only the videos of this Protocols/ folder (e.g. Protocol_1)')
    p.add_argument(
        '--context',
        type=float,
        help='write only the region a CropFaceBox margin up to this value reads (boxes become relative to it); '
        'default: full frames',
    )
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    splits = args.splits or list(SPLITS[args.database])
    bad = [s for s in splits if s not in SPLITS[args.database]]
    if bad:
        sys.exit(f'error: {args.database} has the splits {SPLITS[args.database]}, not {bad}.')
    if any(k <= 0 for k in args.num_frames):
        sys.exit('error: --num-frames must be positive.')
    if args.context is not None and args.context < 0:
        sys.exit('error: --context must be >= 0.')
    try:
        build_cache(
            args.database,
            args.data_root,
            args.out,
            splits,
            args.num_frames,
            args.frame_rule,
            args.boxes,
            args.ext,
            args.device,
            args.context,
            dict(replay_face_dir=args.replay_face_dir, oulu_protocol=args.oulu_protocol),
        )
    except (FileNotFoundError, ValueError, KeyError, RuntimeError) as err:
        sys.exit(f'error: {err}')


if __name__ == '__main__':
    main()
