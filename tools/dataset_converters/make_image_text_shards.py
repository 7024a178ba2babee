"""Write image-text pairs as webdataset tar shards in img2dataset's layout (``00000.tar`` holding
``<key>.jpg``, ``<key>.txt``, ``<key>.json``), the input of ImageTextTarDataset.

Captions come from a sidecar ``<image>.txt`` next to each image, a TSV file (``relative/path<TAB>caption``),
or, for UTKFace crops, from the labels in the file names (``age_gender_race_date.jpg.chip.jpg``).

Usage:
  python tools/dataset_converters/make_image_text_shards.py IMG_DIR OUT_DIR --captions utkface [--limit 2000]
"""

import argparse
import io
import json
import os
import os.path as osp
import random
import tarfile
from typing import Dict, Iterator, List, Tuple

from tqdm import tqdm

from mcf_mm.datasets.captions import RACES, TEMPLATES, utkface_caption  # noqa: F401 (re-exported)


def list_pairs(img_dir: str, captions: str) -> Iterator[Tuple[str, str]]:
    exts = ('.jpg', '.jpeg', '.png', '.webp')
    if captions not in ('utkface', 'sidecar') and osp.isfile(captions):
        with open(captions, encoding='utf-8') as f:
            for line in f:
                if '\t' in line:
                    rel, text = line.rstrip('\n').split('\t', 1)
                    yield osp.join(img_dir, rel), text
        return
    for name in sorted(os.listdir(img_dir)):
        if not name.lower().endswith(exts):
            continue
        path = osp.join(img_dir, name)
        if captions == 'utkface':
            text = utkface_caption(name)
        else:
            side = osp.splitext(path)[0] + '.txt'
            text = open(side, encoding='utf-8').read().strip() if osp.isfile(side) else None
        if text:
            yield path, text


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_shards(pairs: List[Tuple[str, str]], out_dir: str, per_shard: int = 1000) -> List[str]:
    """Write the pairs into ``{shard:05d}.tar`` files; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    bar = tqdm(total=len(pairs), desc='writing shards', unit='pair', disable=None)  # no bar when not a terminal
    for s in range(0, len(pairs), per_shard):
        path = osp.join(out_dir, f'{s // per_shard:05d}.tar')
        with tarfile.open(path, 'w') as tar:
            for i, (img_path, text) in enumerate(pairs[s : s + per_shard], start=s):
                key = f'{i:09d}'
                ext = osp.splitext(img_path)[1].lower().lstrip('.').replace('jpeg', 'jpg')
                _add(tar, f'{key}.{ext}', open(img_path, 'rb').read())
                _add(tar, f'{key}.txt', text.encode('utf-8'))
                meta: Dict[str, object] = dict(key=key, caption=text, source=osp.basename(img_path))
                _add(tar, f'{key}.json', json.dumps(meta).encode('utf-8'))
                bar.update()
        paths.append(path)
    bar.close()
    return paths


def main(argv=None) -> List[str]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('img_dir')
    parser.add_argument('out_dir')
    parser.add_argument('--captions', default='sidecar', help="'utkface', 'sidecar' or a TSV file")
    parser.add_argument('--per-shard', type=int, default=1000)
    parser.add_argument('--limit', type=int, default=None, help='keep a random subset of this size')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    pairs = list(list_pairs(args.img_dir, args.captions))
    if not pairs:
        raise SystemExit(f'no captioned images found in {args.img_dir} (captions={args.captions}).')
    if args.limit and args.limit < len(pairs):
        pairs = sorted(random.Random(args.seed).sample(pairs, args.limit))
    paths = write_shards(pairs, args.out_dir, args.per_shard)
    print(f'wrote {len(pairs)} pairs into {len(paths)} shards under {args.out_dir}')
    return paths


if __name__ == '__main__':
    main()
