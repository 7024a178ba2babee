"""Fit a k-means patch codebook on the images of image-text shards and save it as a visual-tokenizer
checkpoint for ``VisualTokenizer(encoder=dict(type='PatchKMeansEncoder', ...))`` (CPU demos; the paper's
recipe uses a DALL-E tokenizer instead).

Usage:
  python tools/misc/fit_kmeans_visual_tokenizer.py SHARD_DIR OUT.pth --input-size 64 --patch-size 8 --tokens 256
"""

import argparse
import os
import os.path as osp
from typing import List, Optional

import cv2
import torch

import mcf_mm  # noqa: F401
from mcf_mm.datasets import ImageTextTarDataset
from mcf_mm.models import fit_patch_kmeans
from mcf_mm.models.target_generators.visual_tokenizer import patchify


def fit(
    shard_dir: str,
    out: str,
    input_size: int = 64,
    patch_size: int = 8,
    tokens: int = 256,
    max_images: int = 2000,
    iters: int = 20,
    seed: int = 0,
) -> torch.Tensor:
    """Fit and save the codebook [K, p*p*3] (pixels in [0, 1], RGB); returns it."""
    dataset = ImageTextTarDataset(shards='*.tar', data_root=shard_dir, serialize_data=False)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(dataset), generator=g)[:max_images].tolist()
    imgs = []
    for i in order:
        item = dataset.prepare_data(i)
        if item is None:
            continue
        rgb = cv2.cvtColor(
            cv2.resize(item['img'], (input_size, input_size), interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB
        )
        imgs.append(torch.from_numpy(rgb).permute(2, 0, 1).float() / 255.0)
    patches = patchify(torch.stack(imgs), patch_size).flatten(0, 1)  # [M, p*p*3]
    codebook = fit_patch_kmeans(patches, tokens, iters=iters, seed=seed)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(
        dict(
            state_dict=dict(codebook=codebook),
            meta=dict(
                input_size=input_size,
                patch_size=patch_size,
                num_tokens=tokens,
                num_images=len(imgs),
                num_patches=int(patches.shape[0]),
            ),
        ),
        out,
    )
    print(f'fitted {tokens} tokens on {patches.shape[0]} patches of {len(imgs)} images -> {out}')
    return codebook


def main(argv: Optional[List[str]] = None) -> torch.Tensor:
    parser = argparse.ArgumentParser(description='Fit a k-means visual tokenizer on image-text shards.')
    parser.add_argument('shard_dir')
    parser.add_argument('out')
    parser.add_argument('--input-size', type=int, default=64)
    parser.add_argument('--patch-size', type=int, default=8)
    parser.add_argument('--tokens', type=int, default=256)
    parser.add_argument('--max-images', type=int, default=2000)
    parser.add_argument('--iters', type=int, default=20)
    args = parser.parse_args(argv)
    return fit(args.shard_dir, args.out, args.input_size, args.patch_size, args.tokens, args.max_images, args.iters)


if __name__ == '__main__':
    main()
