"""A folder of photos -> LAION-Face-style webdataset tar shards (img2dataset layout) with MTCNN detections.

Each sample is ``<key>.<jpg|png|webp>`` (the photo's own bytes), ``<key>.json`` = {key, filename, width, height,
faces: [{box: [x1, y1, x2, y2], landmarks: [[x, y] x 5], score}]} (pixels of the EXIF-applied photo, highest
score first) and ``<key>.txt`` (the caption: empty, a sidecar ``<photo stem>.txt``, or for UTKFace the labels in
the file name). The input of FaceShardDataset and of crop_laion_face.py --shards. Photos are taken in sorted
name order (``--limit N --seed S``: a random subset of N, still in name order); an unreadable photo is skipped;
a photo without a detected face is written with ``faces: []``.

Example:
    python tools/dataset_converters/make_face_shards.py $MCF_MM_DATA/utkface/data/images work_dirs/utk_shards \
        --captions utkface --limit 2000 --shard-size 500
"""

import argparse
import json
import os
import os.path as osp
import random
from typing import List, Optional

from tqdm import tqdm

from mcf_mm.datasets import ImageDecodeError, ShardWriter, decode_image, read_regular_file
from mcf_mm.datasets.captions import utkface_caption

PHOTO_EXTS = {'.jpg': 'jpg', '.jpeg': 'jpg', '.png': 'png', '.webp': 'webp'}  # stored as is under this ext


def caption_of(path: str, captions: str) -> str:
    """The ``.txt`` member: '' ('none'), the sidecar file's text ('sidecar'), or UTKFace's labels ('utkface')."""
    if captions == 'utkface':
        return utkface_caption(osp.basename(path)) or ''
    if captions == 'sidecar':
        side = osp.splitext(path)[0] + '.txt'
        return open(side, encoding='utf-8').read().strip() if osp.isfile(side) else ''
    return ''


def list_photos(img_dir: str, limit: Optional[int] = None, seed: int = 0) -> List[str]:
    """Photo paths in ``img_dir`` (not recursive), sorted; a seeded random subset of ``limit`` when given."""
    if not osp.isdir(img_dir):
        raise SystemExit(f'{img_dir!r} is not a folder of photos.')
    names = sorted(n for n in os.listdir(img_dir) if osp.splitext(n)[1].lower() in PHOTO_EXTS)
    if limit and limit < len(names):
        names = sorted(random.Random(seed).sample(names, limit))
    return [osp.join(img_dir, n) for n in names]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('img_dir', help='folder of photos (.jpg/.jpeg/.png/.webp)')
    p.add_argument('out_dir', help='output folder for 00000.tar, 00001.tar, ...')
    p.add_argument('--captions', choices=['none', 'sidecar', 'utkface'], default='none', help='the .txt member')
    p.add_argument('--shard-size', type=int, default=1000, help='samples per shard')
    p.add_argument('--limit', type=int, default=None, help='keep a random subset of this many photos')
    p.add_argument('--seed', type=int, default=0, help='seed of the --limit subset')
    p.add_argument('--detector', default='mtcnn', help='registered face detector (mcf_mm.detection.DETECTORS)')
    p.add_argument('--min-score', type=float, default=0.0, help='detections below this score are not stored')
    p.add_argument('--min-face-size', type=int, default=20, help='smallest face side MTCNN searches, pixels')
    p.add_argument('--max-side', type=int, default=640, help='MTCNN searches larger photos at this size')
    p.add_argument('--exif', choices=['apply', 'ignore'], default='apply', help='detect on EXIF-upright pixels')
    return p.parse_args(argv)


def main(argv=None) -> List[str]:
    args = parse_args(argv)
    if args.shard_size < 1:
        raise SystemExit(f'--shard-size {args.shard_size}: a shard must hold at least one sample.')
    photos = list_photos(args.img_dir, args.limit, args.seed)
    if not photos:
        raise SystemExit(f'no .jpg/.jpeg/.png/.webp photos in {args.img_dir!r}.')
    from mcf_mm.detection import build_detector

    cfg = dict(type=args.detector, min_score=args.min_score)
    if args.detector == 'mtcnn':
        cfg.update(min_face_size=args.min_face_size, max_side=args.max_side)
    detector = build_detector(cfg)
    written = unreadable = no_face = faces_total = 0
    with ShardWriter(args.out_dir, maxcount=args.shard_size) as sink:
        for path in tqdm(photos, desc='photos', unit='photo', disable=None):  # no bar when not a terminal
            try:  # a FIFO, device or symlink loop is refused, never opened blocking
                data = read_regular_file(path)
                img = decode_image(data, exif_transpose=args.exif == 'apply')  # [H, W, 3] BGR
            except (OSError, ImageDecodeError) as err:
                print(f'skipping {path}: {err}')
                unreadable += 1
                continue
            faces = [
                dict(
                    box=[round(float(v), 2) for v in f.box],
                    landmarks=[[round(float(x), 2), round(float(y), 2)] for x, y in f.landmarks]
                    if f.landmarks is not None
                    else None,
                    score=round(float(f.score), 6),
                )
                for f in detector.detect(img)
            ]
            no_face += not faces
            faces_total += len(faces)
            key = f'{written:09d}'
            meta = dict(key=key, filename=osp.basename(path), width=img.shape[1], height=img.shape[0], faces=faces)
            sink.write(
                key,
                {
                    PHOTO_EXTS[osp.splitext(path)[1].lower()]: data,
                    'json': json.dumps(meta).encode('utf-8'),
                    'txt': caption_of(path, args.captions).encode('utf-8'),
                },
            )
            written += 1
    print(
        f'wrote {written} photos ({faces_total} faces; {no_face} without a face) into {len(sink.paths)} shards '
        f'under {args.out_dir}; {unreadable} unreadable photos skipped'
    )
    return sink.paths


if __name__ == '__main__':
    main()
