"""Backbones under test: a checkpoint of any format the checkpoint bridge reads, or ``random``; the task
config follows the checkpoint's architecture (width, depth, patch size, CLIP style)."""

import os.path as osp
import re
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from mmengine.config import Config

from mcf_mm.checkpoint import CLIP_MEAN, CLIP_STD, infer_vit_arch, read_checkpoint, to_vit_state_dict

ARCH_KEYS = ('embed_dims', 'num_layers', 'num_heads', 'feedforward_channels')
WIDTH_KEYS = ('in_channels', 'embed_dim')  # neck / head arguments that carry the backbone width


@dataclass
class Backbone:
    """One backbone under test.

    Attributes:
        name: its row name in the tables.
        checkpoint: absolute path, or None for random init (the task config's own architecture).
        fmt: the checkpoint's format (as the bridge detected it), '' for random init.
        vit_kwargs: FaceViT arguments inferred from the weights (arch, patch_size, CLIP settings).
        heads_from: where the head count was read ('' = not recorded).
        norm: the (mean, std) the backbone was trained with, when known.
    """

    name: str
    checkpoint: Optional[str] = None
    fmt: str = ''
    vit_kwargs: dict = field(default_factory=dict)
    heads_from: str = ''
    norm: Optional[Tuple[list, list]] = None

    def describe(self) -> str:
        if self.checkpoint is None:
            return "random init (the task config's architecture)"
        arch = self.vit_kwargs['arch']
        return (
            f'{self.fmt} checkpoint {osp.basename(self.checkpoint)}: {arch["num_layers"]} blocks x '
            f'{arch["embed_dims"]} dims, '
            + (
                f'{arch["num_heads"]} heads ({self.heads_from})'
                if self.heads_from
                else "heads not recorded (the task config's at equal width, else width / 64)"
            )
            + f', patch {self.vit_kwargs["patch_size"]}'
        )


def parse_backbone(spec: str) -> Backbone:
    """``random`` | ``PATH`` | ``NAME=PATH``: read the checkpoint now (a bad file fails before any run)."""
    name, _, path = spec.rpartition('=') if '=' in spec else ('', '', spec)
    if path == 'random':
        return Backbone(name or 'random')
    if not osp.isfile(path):
        raise FileNotFoundError(f'backbone checkpoint {path!r} does not exist; pass a file, NAME=FILE or `random`.')
    ckpt = read_checkpoint(path)
    sd, fmt, _ = to_vit_state_dict(ckpt)
    width = sd['patch_embed.projection.weight'].shape[0] if 'patch_embed.projection.weight' in sd else None
    heads, heads_from = checkpoint_heads(ckpt, width)
    kwargs = infer_vit_arch(sd, fmt, heads)
    if not name:
        stem = osp.splitext(osp.basename(path))[0]
        name = f'{osp.basename(osp.dirname(osp.abspath(path)))}-{stem}'
    if not re.fullmatch(r'[A-Za-z0-9._+-]+', name):
        raise ValueError(f'backbone name {name!r} may hold only letters, digits and . _ + - (it names folders).')
    return Backbone(name, osp.abspath(path), fmt, kwargs, heads_from, checkpoint_norm(ckpt, fmt))


def _training_config(ckpt: dict) -> Optional[Config]:
    """The training config mmengine saves in ``meta.cfg``, if readable."""
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
    if not isinstance(meta.get('cfg'), str):
        return None
    try:
        return Config.fromstring(meta['cfg'], '.py')
    except Exception:  # an unreadable training config only loses its hints
        return None


def checkpoint_heads(ckpt: dict, width: Optional[int]) -> Tuple[Optional[int], str]:
    """The attention head count a checkpoint records (weights do not hold it), and where it was found:
    the converter's ``meta.vit_kwargs``, or the training config mmengine saves in ``meta.cfg``."""
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
    arch = (meta.get('vit_kwargs') or {}).get('arch')
    if isinstance(arch, dict) and arch.get('embed_dims') == width and arch.get('num_heads'):
        return int(arch['num_heads']), 'meta.vit_kwargs'
    cfg = _training_config(ckpt)
    try:
        arch = _arch_dims(cfg.model.backbone.arch) if cfg is not None else None
    except Exception:
        arch = None
    if arch and arch['embed_dims'] == width:
        return int(arch['num_heads']), 'the training config in meta.cfg'
    return None, ''


def checkpoint_norm(ckpt: dict, fmt: str) -> Optional[Tuple[list, list]]:
    """The input mean/std (0-255) the backbone was trained with: CLIP's for CLIP/FaRL releases, else the
    ``data_preprocessor`` of the training config in ``meta.cfg`` (None: unknown, the task config's stay)."""
    if fmt == 'clip':
        return [round(255 * m, 4) for m in CLIP_MEAN], [round(255 * s, 4) for s in CLIP_STD]
    cfg = _training_config(ckpt)
    pre = (cfg.model.get('data_preprocessor') or {}) if cfg is not None and 'model' in cfg else {}
    if pre.get('mean') is not None and pre.get('std') is not None:
        return [float(m) for m in pre['mean']], [float(s) for s in pre['std']]
    return None


def parse_backbones(specs: List[str]) -> List[Backbone]:
    backbones = [parse_backbone(s) for s in specs]
    names = [b.name for b in backbones]
    if len(set(names)) != len(names):
        raise ValueError(f'backbone names repeat: {names}; name them with NAME=PATH.')
    return backbones


def _arch_dims(arch) -> dict:
    """The arch dict of a config's ``backbone.arch`` (a name of mmpretrain's ViT zoo or a dict)."""
    if isinstance(arch, str):
        from mcf_mm.models.backbones.face_vit import FACE_VIT_ARCHS

        if arch.lower() in FACE_VIT_ARCHS:
            arch = FACE_VIT_ARCHS[arch.lower()]
        else:
            from mmpretrain.models.backbones.vision_transformer import VisionTransformer

            arch = VisionTransformer.arch_zoo[arch.lower()]
    return {k: arch[k] for k in ARCH_KEYS}


def _replace_width(node, old: int, new: int) -> None:
    """In neck/head config trees: every width argument equal to ``old`` (or a list of it) becomes ``new``."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in WIDTH_KEYS and value == old:
                node[key] = new
            elif key in WIDTH_KEYS and isinstance(value, (list, tuple)) and value and all(v == old for v in value):
                node[key] = type(value)([new] * len(value))
            else:
                _replace_width(value, old, new)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _replace_width(item, old, new)


def map_out_indices(indices, old_layers: int, new_layers: int) -> tuple:
    """Block indices of a ``old_layers``-deep ViT at the same relative depths of a ``new_layers``-deep one."""
    out = []
    for i in indices:
        i = i % old_layers
        out.append(max(0, min(new_layers - 1, round((i + 1) * new_layers / old_layers) - 1)))
    return tuple(out)


def apply_backbone(cfg: Config, backbone: Backbone) -> List[str]:
    """Make ``cfg`` start from ``backbone``; returns the changes in words (for the run's log).

    Random init leaves the config's architecture and sets ``init_cfg=None``. A checkpoint sets its arch,
    patch size and CLIP style; the token grid of the config is kept (``img_size`` and ``resize_input`` scale
    with the patch size), the output blocks keep their relative depth, and neck/head widths follow.
    """
    bb = cfg.model.backbone
    if backbone.checkpoint is None:
        bb.init_cfg = None
        return ['random init']
    notes = []
    old, new = _arch_dims(bb.arch), dict(backbone.vit_kwargs['arch'])
    if not backbone.heads_from and new['embed_dims'] == old['embed_dims']:
        new['num_heads'] = old['num_heads']  # no record in the file: the config's head count at its width
        notes.append(f'num_heads {old["num_heads"]} from the config (the checkpoint does not record it)')
    if old != new:
        notes.append(f'arch {old} -> {new}')
    bb.arch = new
    old_patch, patch = bb.get('patch_size', 16), backbone.vit_kwargs['patch_size']
    if patch != old_patch:
        for key in ('img_size', 'resize_input'):
            if bb.get(key):
                size = bb[key] * patch // old_patch
                notes.append(f'{key} {bb[key]} -> {size} (the token grid of patch {old_patch} kept at patch {patch})')
                bb[key] = size
        bb.patch_size = patch
    if 'out_indices' in bb and old['num_layers'] != new['num_layers']:
        idx = bb.out_indices if isinstance(bb.out_indices, (list, tuple)) else [bb.out_indices]
        bb.out_indices = map_out_indices(idx, old['num_layers'], new['num_layers'])
        notes.append(f'out_indices {tuple(idx)} -> {bb.out_indices}')
    for key, value in backbone.vit_kwargs.items():
        if key in ('arch', 'patch_size', 'img_size', 'fixed_pos_embed', 'out_type'):
            continue  # the config's input size, position-embedding policy and pooling stay
        bb[key] = value
    if old['embed_dims'] != new['embed_dims']:
        for part in ('neck', 'head', 'decode_head', 'auxiliary_head'):
            if cfg.model.get(part) is not None:
                _replace_width(cfg.model[part], old['embed_dims'], new['embed_dims'])
    pre = cfg.model.get('data_preprocessor')
    if backbone.norm is not None and pre is not None and 'mean' in pre:  # the pre-training's normalisation
        if [float(m) for m in pre.mean] != backbone.norm[0] or [float(s) for s in pre.std] != backbone.norm[1]:
            notes.append(f'mean/std {list(pre.mean)}/{list(pre.std)} -> {backbone.norm[0]}/{backbone.norm[1]}')
        pre.mean, pre.std = list(backbone.norm[0]), list(backbone.norm[1])
    bb.init_cfg = dict(
        type='Pretrained', checkpoint=backbone.checkpoint, source=backbone.fmt, branch='online', min_matched=0.9
    )
    return notes
