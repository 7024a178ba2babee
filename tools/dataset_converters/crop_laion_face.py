"""Crop faces from LAION-Face-style detections into a folder (or list file) or into tar shards, for pre-training.

Input, one of:
  - a JSON Lines file, one object per image: {"image": "relative/or/absolute.jpg", "faces": [{"box":
    [x1, y1, x2, y2], "landmarks": [[x, y] x 5], "score": 0.99}, ...]} (the fields LAION-Face's detections
    provide; an optional "caption" goes to the crop's .txt in shard output);
  - ``--shards``: img2dataset-style tar shards whose ``<key>.json`` holds the same "faces" (e.g. written by
    make_face_shards.py); the ``<key>.txt`` caption is carried to the crops.
Every face with a valid box (x2 > x1, y2 > y1, finite; with --center landmarks also 5 landmarks) and
score >= --score-thr becomes a --size x --size crop with --margin, named ``<stem>_<j><ext>``
(stem: the image's file name without its last extension, or the shard key; j: the face's index in "faces").

Output (``--out-format``):
  - folder: the crops as files in --out (and their names in --list-file);
  - shards: img2dataset-style shards in --out (``00000.tar``, ... of --shard-size crops, written atomically):
    ``<9-digit key>.<jpg|png>`` (the same encoded bytes as the folder's file), ``<key>.json`` = {key, name (the
    folder file name), source, face_idx, box, landmarks, score, margin, size, center}, ``<key>.txt`` (caption).
    FaceShardDataset(cropped=True) reads them.

Examples:
    python tools/dataset_converters/crop_laion_face.py meta.jsonl --img-root images/ --out crops/ \
        --margin 0.3 --size 224 --score-thr 0.9
    python tools/dataset_converters/crop_laion_face.py --shards 'laion_face/{00000..00099}.tar' \
        --out crop_shards/ --out-format shards --shard-size 10000
"""

import argparse
import json
import os
import os.path as osp
from typing import Iterator, Optional, Tuple

import cv2
import numpy as np
from tqdm import tqdm

from mcf_mm.datasets import ImageDecodeError, ShardWriter, crop_face, decode_image, read_regular_file
from mcf_mm.datasets.face_shards import valid_face
from mcf_mm.datasets.file_io import DEFAULT_MAX_FILE_BYTES
from mcf_mm.datasets.tar_index import IMAGE_EXTS, check_shard, expand_shards, index_tar, read_span

# (where, stem, image [H, W, 3] BGR or None, faces, caption, error or None)
Record = Tuple[str, str, Optional[np.ndarray], list, str, Optional[Exception]]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('meta', nargs='?', help='JSON Lines detection metadata (or give --shards)')
    p.add_argument('--shards', help='img2dataset tar shards with detection json: paths, a glob or {a..b} range')
    p.add_argument('--img-root', default='', help='folder the image paths are relative to')
    p.add_argument('--out', required=True, help='output folder for the crops (files or shards)')
    p.add_argument('--out-format', choices=['folder', 'shards'], default='folder', help='crop files or tar shards')
    p.add_argument('--shard-size', type=int, default=10000, help='crops per output shard (--out-format shards)')
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
    p.add_argument('--list-file', help='also write the crop paths (relative to --out) to this file (folder output)')
    args = p.parse_args(argv)
    if (args.meta is None) == (args.shards is None):
        p.error('give either the JSON Lines metadata file or --shards (one of them).')
    if args.list_file and args.out_format != 'folder':
        p.error('--list-file lists crop files; it needs --out-format folder.')
    if args.shard_size < 1:
        p.error(f'--shard-size {args.shard_size}: a shard must hold at least one crop.')
    return args


def iter_jsonl(args: argparse.Namespace) -> Iterator[Record]:
    """Images named in the JSON Lines metadata, decoded."""
    with open(args.meta, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            rec = json.loads(line)
            path = rec['image'] if osp.isabs(rec['image']) else osp.join(args.img_root, rec['image'])
            stem = osp.splitext(osp.basename(rec['image']))[0]
            where = f'line {line_no}: {path}'
            try:  # a FIFO, device or symlink loop is refused, never opened blocking
                img = decode_image(read_regular_file(path), exif_transpose=args.exif == 'apply')
            except (OSError, ImageDecodeError) as err:
                yield where, stem, None, [], '', err
                continue
            yield where, stem, img, rec.get('faces', []), str(rec.get('caption', '')), None


def iter_shards(args: argparse.Namespace) -> Iterator[Record]:
    """Samples of the input shards in shard and member order, decoded (one in-order pass per shard)."""
    paths = expand_shards(args.shards)
    if not paths:
        raise SystemExit(f'no tar shards match {args.shards!r}.')
    for path in paths:
        check_shard(path)
    for path in paths:
        for key, parts in index_tar(path).items():
            stem, where = osp.basename(key), f'{path}/{key}'
            img_ext = next((e for e in IMAGE_EXTS if e in parts), None)
            try:
                if img_ext is None or 'json' not in parts:
                    raise ImageDecodeError(f'sample has no {"image" if img_ext is None else ".json"} member')
                try:
                    faces = json.loads(read_span(path, parts['json'], DEFAULT_MAX_FILE_BYTES)).get('faces', [])
                except (ValueError, AttributeError) as err:
                    raise ImageDecodeError(f'unreadable .json ({err})') from err
                data = read_span(path, parts[img_ext], DEFAULT_MAX_FILE_BYTES)
                img = decode_image(data, exif_transpose=args.exif == 'apply')
                caption = read_span(path, parts['txt']).decode('utf-8', 'replace').strip() if 'txt' in parts else ''
            except (OSError, ImageDecodeError) as err:
                yield where, stem, None, [], '', err
                continue
            yield where, stem, img, faces, caption, None


def main(argv=None) -> None:
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    kept = skipped_score = bad_images = invalid = 0
    names = []
    records = iter_jsonl(args) if args.meta else iter_shards(args)
    sink = ShardWriter(args.out, maxcount=args.shard_size) if args.out_format == 'shards' else None
    bar = tqdm(records, desc='images', unit='image', disable=None)  # no bar when not a terminal
    try:
        for where, stem, img, faces, caption, err in bar:
            if err is not None:
                bar.write(f'{where}: skipping: {err}')
                bad_images += 1
                continue
            for j, face in enumerate(faces):
                if not valid_face(face, need_landmarks=args.center == 'landmarks'):
                    invalid += 1  # no box, a degenerate or non-finite one (or no landmarks to centre on)
                    continue
                if face.get('score', 1.0) < args.score_thr:
                    skipped_score += 1
                    continue
                lms = np.asarray(face['landmarks']) if args.center == 'landmarks' else None
                crop = crop_face(img, face['box'], args.margin, args.size, lms)  # [size, size, 3]
                name = f'{stem}_{j}{args.ext}'
                if sink is None:
                    cv2.imwrite(osp.join(args.out, name), crop)
                else:
                    ok, buf = cv2.imencode(args.ext, crop)  # the bytes cv2.imwrite writes
                    if not ok:
                        raise RuntimeError(f'OpenCV could not encode the crop {name} as {args.ext}')
                    key = f'{sink.num_samples:09d}'
                    meta = dict(
                        key=key,
                        name=name,
                        source=where,
                        face_idx=j,
                        box=face['box'],
                        landmarks=face.get('landmarks'),
                        score=face.get('score'),
                        margin=args.margin,
                        size=args.size,
                        center=args.center,
                    )
                    members = {args.ext[1:]: buf.tobytes(), 'json': json.dumps(meta).encode(), 'txt': caption.encode()}
                    sink.write(key, members)
                names.append(name)
                kept += 1
    except BaseException:
        if sink is not None:
            sink.abort()  # the unfinished shard never gets a final name
        raise
    if sink is not None:
        sink.close()
    if args.list_file:
        with open(args.list_file, 'w', encoding='utf-8') as f:
            f.write('\n'.join(names) + '\n')
    where = f'{len(sink.paths)} shards in {args.out}' if sink is not None else args.out
    print(
        f'wrote {kept} crops to {where}; {skipped_score} faces below score {args.score_thr}; '
        f'{bad_images} unreadable images{f"; {invalid} faces with an invalid box" if invalid else ""}'
    )


if __name__ == '__main__':
    main()
