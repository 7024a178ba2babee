"""One PNG that tells whether MCF pre-training learned: images, loss curves and teacher-feature agreement.

python tools/visualization/visualize_reconstruction.py CONFIG CHECKPOINT --num 8 --out recon.png

For the first N images of the config's training set it shows input / masked input / pseudo image (the
decoder's output). MCF has no pixel loss: the pseudo image is only judged through the frozen teacher's
features, so it need not look like the face (colour noise is expected). What shows learning is drawn beside
it: the training losses from the run's log (``<checkpoint dir>/<timestamp>/vis_data/scalars.json``, or
``--log``), and, per teacher layer, the agreement of the teacher's features of the pseudo image with those of
the real image (cosine along the axis the distillation loss normalises, ``model.head.norm_dim``; 1 = the
teacher sees the same), for the checkpoint against a fresh, untrained initialisation of the same model and the
masked input itself. The numbers are also written to ``<out>.json``.
"""

import argparse
import glob
import importlib.util
import json
import logging
import os.path as osp
from typing import Dict, List, Optional

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.dataset import default_collate
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import mcf_mm  # noqa: F401
from mcf_mm.checkpoint import load_model_weights
from mcf_mm.models.losses.mcf_losses import NORM_DIMS
from mcf_mm.registry import DATASETS, MODELS
from mcf_mm.utils.cli import run_cli

PSEUDO_NOTE = (
    'pseudo image: the decoder output, judged only by the frozen teacher (MCF has no pixel loss): '
    'colour noise is expected.'
)


def to_uint8(img: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> np.ndarray:
    """[3, H, W] normalised RGB -> [H, W, 3] uint8 BGR."""
    rgb = (img * std.view(3, 1, 1) + mean.view(3, 1, 1)).clamp(0, 255)
    return rgb.permute(1, 2, 0).byte().numpy()[..., ::-1]


@torch.no_grad()
def teacher_agreement(teacher, real: torch.Tensor, other: torch.Tensor, norm_dim: str = 'token') -> List[float]:
    """Per teacher layer: mean cosine similarity of teacher(other) and teacher(real), [N, 3, H, W] each.

    The cosine runs along the axis the distillation loss L2-normalises (``norm_dim``: 'token' = over the
    tokens, per image and channel, as MCF's code; 'channel' = over the channels, per token). That layer's loss
    term, the MSE of the normalised features, is then (2 - 2 cos) / (length of that axis), on average.
    """
    if norm_dim not in NORM_DIMS:
        raise ValueError(f'norm_dim={norm_dim!r} is invalid; choose one of {tuple(NORM_DIMS)}.')
    dim = NORM_DIMS[norm_dim]
    pairs = zip(teacher(other), teacher(real))  # per layer [N, T, D]
    return [F.cosine_similarity(o.float(), r.float(), dim=dim, eps=1e-12).mean().item() for o, r in pairs]


def find_scalars(path: str) -> List[str]:
    """The runs' scalars.json below a work dir (time order), or the file itself."""
    if osp.isfile(path):
        return [path]
    return sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))


def _plot_curves_module():
    """tools/analysis_tools/plot_curves.py (the log reader shared with the curve tool)."""
    path = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'analysis_tools', 'plot_curves.py')
    spec = importlib.util.spec_from_file_location('mcf_mm_plot_curves', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_model(cfg: Config, checkpoint: Optional[str], seed: int):
    """The config's MCF model: the checkpoint's weights, or (None) a fresh initialisation drawn with ``seed``."""
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    if not hasattr(model, 'reconstruct'):
        raise SystemExit(f'{type(model).__name__} has no reconstruct(); use an MCF config.')
    if checkpoint is None:
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)  # init_weights reports every tensor at INFO
        try:
            model.init_weights()
        finally:
            logger.setLevel(level)
    else:
        load_model_weights(model, checkpoint, f'a {type(model).__name__} pre-training model of this config')
    return model.eval()


def draw_figure(
    grid: np.ndarray, curves: Optional[Dict], agreement: Dict[str, List[float]], layers: List[int], out: str
) -> None:
    """grid [H, W, 3] BGR (input | masked | pseudo rows), loss curves, agreement bars -> one PNG."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(13, 7), dpi=100)
    gs = fig.add_gridspec(
        2, 2, width_ratios=[0.55, 1.3], left=0.02, right=0.98, top=0.93, bottom=0.14, wspace=0.12, hspace=0.4
    )
    ax = fig.add_subplot(gs[:, 0])
    ax.imshow(grid[..., ::-1], interpolation='nearest')
    ax.set_xticks([(j + 0.5) * grid.shape[1] / 3 for j in range(3)])
    ax.set_xticklabels(['input', 'masked', 'pseudo'], fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks([])
    ax_loss = fig.add_subplot(gs[0, 1])
    if curves:
        for key in sorted(curves):
            xs, ys = curves[key]
            ax_loss.plot(xs, ys, label=key)
        ax_loss.set_yscale('log')
        ax_loss.legend()
        ax_loss.set_xlabel('iteration')
        ax_loss.set_title('training losses (should fall)')
        ax_loss.grid(alpha=0.3)
    else:
        ax_loss.text(0.5, 0.5, 'no training log found (pass --log)', ha='center', va='center')
        ax_loss.set_axis_off()
    ax_agr = fig.add_subplot(gs[1, 1])
    width = 0.8 / len(agreement)
    for i, (name, values) in enumerate(agreement.items()):
        xs = np.arange(len(layers)) + (i - (len(agreement) - 1) / 2) * width
        bars = ax_agr.bar(xs, values, width, label=name)
        ax_agr.bar_label(bars, fmt='%.3f', fontsize=8)
    ax_agr.set_xticks(np.arange(len(layers)))
    ax_agr.set_xticklabels([f'teacher block {i}' for i in layers])
    ax_agr.set_ylim(min(0.0, *[min(v) for v in agreement.values()]) - 0.02, 1.08)
    ax_agr.set_ylabel('cosine(teacher(x), teacher(real))')
    ax_agr.set_title('teacher-feature agreement with the real image (higher = learned)')
    ax_agr.legend(fontsize=8, loc='lower right')
    ax_agr.grid(alpha=0.3, axis='y')
    fig.text(0.03, 0.06, PSEUDO_NOTE, fontsize=10)
    fig.text(
        0.03,
        0.025,
        'Learning shows as falling losses and a trained pseudo image whose teacher features agree with the real '
        "image's far more than an untrained model's do.",
        fontsize=10,
    )
    fig.savefig(out)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--num', type=int, default=8, help='number of images')
    p.add_argument('--out', default='reconstruction.png')
    p.add_argument('--cell', type=int, default=96, help='side of each cell in pixels')
    p.add_argument('--seed', type=int, default=0, help='seed of the random masks and of the untrained model')
    p.add_argument('--log', help="the run's scalars.json or work dir (default: the checkpoint's folder)")
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = p.parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    if args.num < 1:
        raise SystemExit(f'--num must be at least 1, got {args.num}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mcf_mm'))
    model = build_model(cfg, args.checkpoint, args.seed)
    untrained = build_model(cfg, None, args.seed)
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
    torch.manual_seed(args.seed)  # the same masks for the untrained model
    out0 = untrained.reconstruct(inputs)
    norm_dim = cfg.model.head.get('norm_dim', 'token')
    teacher = model.target_generator
    agreement = {
        'untrained model, pseudo image': teacher_agreement(teacher, inputs, out0['pseudo'], norm_dim),
        'trained model, pseudo image': teacher_agreement(teacher, inputs, out['pseudo'], norm_dim),
        'masked input itself': teacher_agreement(teacher, inputs, out['masked'], norm_dim),
    }
    layers = list(teacher.out_indices)
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
    scalars = find_scalars(args.log or osp.dirname(osp.abspath(args.checkpoint)))
    curves = None
    if scalars:
        reader = _plot_curves_module()
        train = {}
        for file in scalars:  # a resumed run continues in a new timestamp folder
            for key, (xs, ys) in reader.read_scalars(file)['train'].items():
                if key.startswith('loss'):
                    merged = dict(zip(*train.get(key, ([], []))))
                    merged.update(zip(xs, ys))
                    train[key] = (sorted(merged), [merged[x] for x in sorted(merged)])
        curves = train or None
    draw_figure(grid, curves, agreement, layers, args.out)
    summary = dict(
        teacher_blocks=layers,
        norm_dim=norm_dim,
        agreement=agreement,
        losses={
            k: dict(first=ys[0], last=ys[-1], first_iter=xs[0], last_iter=xs[-1])
            for k, (xs, ys) in (curves or {}).items()
        },
        images=len(batch),
    )
    json_path = osp.splitext(args.out)[0] + '.json'
    with open(json_path, 'w') as f:
        json.dump(summary, f, indent=1)
    print(f'wrote {args.out} and {json_path} ({len(batch)} images: input | masked input | pseudo image)')
    print(PSEUDO_NOTE)
    for name, values in agreement.items():
        print(f'  teacher agreement, {name}: ' + ', '.join(f'block {i} {v:.3f}' for i, v in zip(layers, values)))
    for key, stats in summary['losses'].items():
        first = f'{stats["first"]:.4g} (iter {stats["first_iter"]:g})'
        print(f'  {key}: {first} -> {stats["last"]:.4g} (iter {stats["last_iter"]:g})')


if __name__ == '__main__':
    run_cli(main)
