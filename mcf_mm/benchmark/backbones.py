"""Backbones under test: a checkpoint of any format the checkpoint bridge reads, or ``random``; the task
config follows the checkpoint's architecture (width, depth, patch size, CLIP style)."""

import ast
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
    saved = saved_config(ckpt)  # read once, never run
    heads, heads_from = checkpoint_heads(ckpt, saved, width)
    kwargs = infer_vit_arch(sd, fmt, heads)
    if not name:
        stem = osp.splitext(osp.basename(path))[0]
        name = f'{osp.basename(osp.dirname(osp.abspath(path)))}-{stem}'
    if not re.fullmatch(r'[A-Za-z0-9._+-]+', name):
        raise ValueError(f'backbone name {name!r} may hold only letters, digits and . _ + - (it names folders).')
    return Backbone(name, osp.abspath(path), fmt, kwargs, heads_from, checkpoint_norm(saved, fmt))


_UNKNOWN = object()


def _literal(node: ast.AST):
    """Plain data of a config expression, or ``_UNKNOWN``: constants, lists, tuples, dict displays, ``dict(k=v)``
    calls (keys of unknown value are left out) and signed numbers; nothing is ever evaluated."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
        return _UNKNOWN
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e) for e in node.elts]
        if any(i is _UNKNOWN for i in items):
            return _UNKNOWN
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        pairs = [(_literal(k) if k is not None else _UNKNOWN, _literal(v)) for k, v in zip(node.keys, node.values)]
        return {k: v for k, v in pairs if isinstance(k, str) and v is not _UNKNOWN}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == 'dict' and not node.args:
        pairs = [(k.arg, _literal(k.value)) for k in node.keywords if k.arg is not None]
        return {k: v for k, v in pairs if v is not _UNKNOWN}
    return _UNKNOWN


def saved_config(ckpt: dict) -> dict:
    """The top-level values of the training config mmengine saves as text in ``meta.cfg``, as plain data.

    The text comes from a checkpoint, i.e. possibly from a download: it is parsed with :mod:`ast` and never run
    (``Config.fromstring`` would execute it). Values that are not plain data are left out; unreadable text
    gives ``{}`` (the hints it would give are lost, nothing else)."""
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
    text = meta.get('cfg')
    if not isinstance(text, str):
        return {}
    try:
        tree = ast.parse(text, mode='exec')
        out = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                value = _literal(node.value)
                if value is not _UNKNOWN:
                    out[node.targets[0].id] = value
        return out
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # not a config text, or absurdly nested
        return {}


def _saved_arch(saved: dict) -> Optional[dict]:
    """The saved config's ``model.backbone.arch`` as an arch dict, or None when absent or not understood."""
    arch = ((saved.get('model') or {}).get('backbone') or {}).get('arch')
    if isinstance(arch, dict) and all(isinstance(arch.get(k), int) for k in ARCH_KEYS):
        return {k: arch[k] for k in ARCH_KEYS}
    if isinstance(arch, str):
        from mmpretrain.models.backbones.vision_transformer import VisionTransformer

        from mcf_mm.models.backbones.face_vit import FACE_VIT_ARCHS

        if arch.lower() in FACE_VIT_ARCHS or arch.lower() in VisionTransformer.arch_zoo:
            return _arch_dims(arch)
    return None


def checkpoint_heads(ckpt: dict, saved: dict, width: Optional[int]) -> Tuple[Optional[int], str]:
    """The attention head count a checkpoint records (weights do not hold it), and where it was found:
    the converter's ``meta.vit_kwargs``, or the saved training config (:func:`saved_config`)."""
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
    arch = (meta.get('vit_kwargs') or {}).get('arch')
    if isinstance(arch, dict) and arch.get('embed_dims') == width and arch.get('num_heads'):
        return int(arch['num_heads']), 'meta.vit_kwargs'
    arch = _saved_arch(saved)
    if arch and arch['embed_dims'] == width:
        return int(arch['num_heads']), 'the training config in meta.cfg'
    return None, ''


def checkpoint_norm(saved: dict, fmt: str) -> Optional[Tuple[list, list]]:
    """The input mean/std (0-255) the backbone was trained with: CLIP's for CLIP/FaRL releases, else the
    ``data_preprocessor`` of the saved training config (None: unknown, the task config's stay)."""
    if fmt == 'clip':
        return [round(255 * m, 4) for m in CLIP_MEAN], [round(255 * s, 4) for s in CLIP_STD]
    pre = (saved.get('model') or {}).get('data_preprocessor') or {}
    mean, std = pre.get('mean'), pre.get('std')
    if isinstance(mean, (list, tuple)) and isinstance(std, (list, tuple)):
        return [float(m) for m in mean], [float(s) for s in std]
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
