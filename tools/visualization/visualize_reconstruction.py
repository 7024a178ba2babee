"""Write a PNG grid of input / masked input / pseudo image for the first N images of a config's dataset.

python tools/visualization/visualize_reconstruction.py CONFIG CHECKPOINT --num 8 --out recon.png
"""

import argparse
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import default_collate
from mmengine.registry import init_default_scope

import mcf_mm  # noqa: F401
from mcf_mm.checkpoint import load_model_weights
from mcf_mm.registry import DATASETS, MODELS
from mcf_mm.utils.cli import run_cli


def to_uint8(img: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> np.ndarray:
    """[3, H, W] normalised RGB -> [H, W, 3] uint8 BGR."""
    rgb = (img * std.view(3, 1, 1) + mean.view(3, 1, 1)).clamp(0, 255)
    return rgb.permute(1, 2, 0).byte().numpy()[..., ::-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--num', type=int, default=8, help='number of images')
    p.add_argument('--out', default='reconstruction.png')
    p.add_argument('--cell', type=int, default=96, help='side of each cell in pixels')
    p.add_argument('--seed', type=int, default=0, help='seed of the random masks')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = p.parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mcf_mm'))
    model = MODELS.build(cfg.model)
    if not hasattr(model, 'reconstruct'):
        raise SystemExit(f'{type(model).__name__} has no reconstruct(); use an MCF config.')
    load_model_weights(model, args.checkpoint, f'a {type(model).__name__} pre-training model of this config')
    model.eval()
    ds_cfg = cfg.train_dataloader.dataset
    while ds_cfg.get('dataset') is not None:  # unwrap RepeatDataset and the like
        ds_cfg = ds_cfg.dataset
    ds_cfg.pipeline = [t for t in ds_cfg.pipeline if t['type'] != 'RandomFlip']
    dataset = DATASETS.build(ds_cfg)
    batch = [dataset[i] for i in range(min(args.num, len(dataset)))]
    data = model.data_preprocessor(default_collate(batch), False)
    inputs = data['inputs'][0] if isinstance(data['inputs'], (list, tuple)) else data['inputs']  # [N, 3, H, W]
    torch.manual_seed(args.seed)
    out = model.reconstruct(inputs)
    mean = torch.tensor(cfg.model.data_preprocessor.mean)
    std = torch.tensor(cfg.model.data_preprocessor.std)
    rows = []
    for i in range(len(batch)):
        cells = [to_uint8(t[i], mean, std) for t in (inputs, out['masked'], out['pseudo'])]
        rows.append(
            np.concatenate(
                [cv2.resize(c, (args.cell, args.cell), interpolation=cv2.INTER_NEAREST) for c in cells], axis=1
            )
        )
    grid = np.concatenate(rows, axis=0)
    header = np.full((24, grid.shape[1], 3), 255, np.uint8)
    for j, title in enumerate(('input', 'masked input', 'pseudo image')):
        cv2.putText(header, title, (j * args.cell + 4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.imwrite(args.out, np.concatenate([header, grid], axis=0))
    print(f'wrote {args.out} ({len(batch)} images: input | masked input | pseudo image)')


if __name__ == '__main__':
    run_cli(main)
