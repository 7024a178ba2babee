"""Read any supported face-backbone checkpoint and map it onto mmpretrain VisionTransformer names.

Formats (``source``): 'mcf_mm' (this toolbox's pre-training checkpoints), 'mcf' (original MCF code),
'mocov3', 'timm' (timm / MAE), 'mmpretrain', 'clip' (OpenAI CLIP and FaRL, ``visual.*``). Downloaded files
are read with ``weights_only=True``.
"""
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

FORMATS = ('mcf_mm', 'mcf', 'mocov3', 'timm', 'mmpretrain', 'clip')
BRANCHES = ('online', 'target')

_TIMM_RULES = [
    (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
    (r'^blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
    (r'^blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
    (r'^blocks\.(\d+)\.attn\.', r'layers.\1.attn.'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.', r'layers.\1.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.', r'layers.\1.ffn.layers.1.'),
    (r'^norm\.', 'ln1.'),
    (r'^(cls_token|pos_embed)$', r'\1'),
]
_CLIP_RULES = [
    (r'^conv1\.', 'patch_embed.projection.'),
    (r'^ln_pre\.', 'pre_norm.'),
    (r'^transformer\.resblocks\.(\d+)\.ln_1\.', r'layers.\1.ln1.'),
    (r'^transformer\.resblocks\.(\d+)\.ln_2\.', r'layers.\1.ln2.'),
    (r'^transformer\.resblocks\.(\d+)\.attn\.in_proj_', r'layers.\1.attn.qkv.'),
    (r'^transformer\.resblocks\.(\d+)\.attn\.out_proj\.', r'layers.\1.attn.proj.'),
    (r'^transformer\.resblocks\.(\d+)\.mlp\.c_fc\.', r'layers.\1.ffn.layers.0.0.'),
    (r'^transformer\.resblocks\.(\d+)\.mlp\.c_proj\.', r'layers.\1.ffn.layers.1.'),
    (r'^ln_post\.', 'ln1.'),
]


class CheckpointFormatError(ValueError):
    """The file is not a checkpoint of a supported ViT format."""


def read_checkpoint(path: str, map_location: str = 'cpu') -> dict:
    """Load a checkpoint file safely (``weights_only=True``) with clear errors for missing/corrupt files."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path!r}; check the path in your config '
                                '(e.g. `teacher.checkpoint` or `init_cfg.checkpoint`).')
    if osp.getsize(path) == 0:
        raise CheckpointFormatError(f'checkpoint {path!r} is an empty file; download or copy it again.')
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # pickle/zip errors, truncated downloads, non-checkpoint files
        if 'weights_only' in str(err) or 'Unsupported global' in str(err):
            try:  # an mmengine runner checkpoint: trusted only if it carries our own meta
                ckpt = torch.load(path, map_location=map_location, weights_only=False)
            except Exception:
                raise CheckpointFormatError(f'cannot read checkpoint {path!r}: {err}') from err
        else:
            raise CheckpointFormatError(
                f'cannot read checkpoint {path!r} ({type(err).__name__}: {str(err)[:200]}); the file is '
                'corrupt, truncated or not a PyTorch checkpoint.') from err
    if not isinstance(ckpt, dict):
        raise CheckpointFormatError(f'checkpoint {path!r} holds a {type(ckpt).__name__}, not a dict of '
                                    'tensors (a TorchScript/pickled model?); save its state_dict instead.')
    return ckpt


def _tensors(d: dict) -> Dict[str, Tensor]:
    return OrderedDict((k, v) for k, v in d.items() if isinstance(v, Tensor))


def _strip(sd: Dict[str, Tensor], prefix: str) -> Dict[str, Tensor]:
    return OrderedDict((k[len(prefix):], v) for k, v in sd.items() if k.startswith(prefix))


def _rename(sd: Dict[str, Tensor], rules) -> Tuple[Dict[str, Tensor], List[str]]:
    out, dropped = OrderedDict(), []
    for key, value in sd.items():
        for pattern, repl in rules:
            if re.match(pattern, key):
                out[re.sub(pattern, repl, key)] = value
                break
        else:
            dropped.append(key)
    return out, dropped


def _describe(sd: Dict[str, Tensor]) -> str:
    keys = list(sd)
    hint = 'an unrecognised model'
    if any(k.startswith(('layer1.', 'module.layer1.', 'backbone.layer1.')) or '.downsample.' in k for k in keys):
        hint = 'a ResNet-style CNN'
    elif any('token_embedding' in k for k in keys) and not any('visual.' in k for k in keys):
        hint = 'a text-only transformer (CLIP text tower, no `visual.*` image encoder)'
    elif not keys:
        hint = 'no tensors at all'
    return f'{hint}: {len(keys)} tensors, first keys {keys[:4]}'


def detect_format(ckpt: dict) -> str:
    """Name the checkpoint format, or raise :class:`CheckpointFormatError` describing what was found."""
    if 'model' in ckpt and isinstance(ckpt['model'], dict):
        keys = list(ckpt['model'])
        if any(k.startswith('online_encoder.') for k in keys):
            return 'mcf'
        if any(k.startswith(('blocks.', 'patch_embed.proj.')) for k in keys):
            return 'timm'
    sd = ckpt.get('state_dict', ckpt)
    keys = list(sd) if isinstance(sd, dict) else []
    if any(k.startswith('module.base_encoder.') for k in keys):
        return 'mocov3'
    if ckpt.get('meta', {}).get('mcf_mm_algorithm') or any(k.startswith('target.backbone.') for k in keys):
        return 'mcf_mm'
    if any(k.startswith('visual.') for k in keys) or any(k.startswith('conv1.') for k in keys) and any(
            k.startswith('transformer.resblocks.') for k in keys):
        return 'clip'
    if any(k.startswith(('backbone.patch_embed.projection', 'patch_embed.projection')) for k in keys):
        return 'mmpretrain'
    if any(k.startswith(('blocks.', 'patch_embed.proj.')) for k in keys):
        return 'timm'
    raise CheckpointFormatError(
        f'unknown checkpoint format ({_describe(_tensors(sd) if isinstance(sd, dict) else {})}); '
        f'supported formats are {FORMATS}. Convert it with tools/model_converters/ or pass `source=`.')


def to_vit_state_dict(ckpt: dict, source: str = 'auto',
                      branch: str = 'online') -> Tuple[Dict[str, Tensor], str, List[str]]:
    """Map a loaded checkpoint to mmpretrain ViT keys.

    Args:
        ckpt: the loaded checkpoint dict.
        source: one of :data:`FORMATS` or 'auto'.
        branch: for MCF / mcf_mm / MoCo-v3 checkpoints, 'online' (base) or 'target' (EMA/momentum) encoder.
    Returns:
        (state_dict, format, keys of the backbone part that had no ViT counterpart and were dropped).
    """
    if branch not in BRANCHES:
        raise ValueError(f'branch={branch!r} is invalid; choose one of {BRANCHES}.')
    fmt = detect_format(ckpt) if source == 'auto' else source
    if fmt not in FORMATS:
        raise ValueError(f'source={source!r} is invalid; choose one of {FORMATS} or "auto".')
    sd = _tensors(ckpt['model'] if fmt in ('mcf', 'timm') and 'model' in ckpt else ckpt.get('state_dict', ckpt))
    if fmt == 'mcf_mm':
        part = _strip(sd, 'backbone.' if branch == 'online' else 'target.backbone.')
        return part, fmt, []
    if fmt == 'mmpretrain':
        part = _strip(sd, 'backbone.') if any(k.startswith('backbone.') for k in sd) else sd
        return part, fmt, []
    if fmt == 'mcf':
        sd = _strip(sd, 'online_encoder.' if branch == 'online' else 'target_encoder.')
    elif fmt == 'mocov3':
        sd = _strip(sd, 'module.base_encoder.' if branch == 'online' else 'module.momentum_encoder.')
    if fmt == 'clip':
        if any(k.startswith('visual.') for k in sd):
            sd = _strip(sd, 'visual.')
        out, dropped = _rename(sd, _CLIP_RULES)
        if 'class_embedding' in sd:
            out['cls_token'] = sd['class_embedding'].reshape(1, 1, -1)
            dropped.remove('class_embedding')
        if 'positional_embedding' in sd:
            out['pos_embed'] = sd['positional_embedding'].unsqueeze(0)
            dropped.remove('positional_embedding')
        return out, fmt, dropped
    out, dropped = _rename(sd, _TIMM_RULES)
    return out, fmt, dropped


def infer_vit_arch(sd: Dict[str, Tensor], fmt: str, num_heads: Optional[int] = None) -> dict:
    """Infer FaceViT constructor arguments (arch, patch size, CLIP settings) from a mapped state dict.

    The head count is not stored in weights: it defaults to the standard head width of 64
    (ViT-Ti/S/B/L/H all use it); pass ``num_heads`` for other models.
    """
    try:
        proj = sd['patch_embed.projection.weight']  # [D, 3, p, p]
    except KeyError:
        raise CheckpointFormatError(f'no patch embedding in the {fmt} checkpoint; it is not a ViT.') from None
    dims, patch = proj.shape[0], proj.shape[-1]
    layers = 1 + max(int(k.split('.')[1]) for k in sd if k.startswith('layers.'))
    ffn = sd['layers.0.ffn.layers.0.0.weight'].shape[0]
    heads = num_heads or max(1, dims // 64)
    if dims % heads:
        raise ValueError(f'num_heads={heads} does not divide the width {dims} of the {fmt} ViT.')
    kwargs = dict(arch=dict(embed_dims=dims, num_layers=layers, num_heads=heads, feedforward_channels=ffn),
                  patch_size=patch)
    tokens = sd['pos_embed'].shape[1] if 'pos_embed' in sd else None
    if tokens is not None:
        kwargs['img_size'] = int(round((tokens - 1) ** 0.5)) * patch
    if fmt == 'clip':
        kwargs.update(clip_style_vit_kwargs())
    return kwargs


def clip_style_vit_kwargs() -> dict:
    """FaceViT arguments reproducing the CLIP/FaRL visual tower (pre-norm, QuickGELU, eps 1e-5, no patch bias)."""
    return dict(pre_norm=True, fixed_pos_embed=False, norm_cfg=dict(type='LN', eps=1e-5),
                patch_cfg=dict(bias=False), layer_cfgs=dict(act_cfg=dict(type='mmpretrain.QuickGELU')))


def load_vit_weights(model: nn.Module, path: str, source: str = 'auto', branch: str = 'online',
                     min_matched: float = 0.9, logger=None) -> dict:
    """Load a checkpoint of any supported format into a ViT, loudly.

    Prints how many tensors loaded and lists missing/unexpected keys; raises if fewer than ``min_matched``
    of the model's tensors were found. Position embeddings are resized by the model's load hook.
    Returns a report dict (format, loaded, missing, unexpected, dropped).
    """
    ckpt = read_checkpoint(path)
    sd, fmt, dropped = to_vit_state_dict(ckpt, source, branch)
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    loaded = len(own) - len(missing)
    if loaded < min_matched * len(own):
        raise CheckpointFormatError(
            f'{path!r} ({fmt} format) matched only {loaded}/{len(own)} backbone tensors (< {min_matched:.0%}); '
            f'missing e.g. {missing[:5]}. Is it the right architecture, or the right `source`/`branch`? '
            'Lower `min_matched` only if a partial load is intended.')
    result = model.load_state_dict({k: v for k, v in sd.items() if k in own}, strict=False)
    missing = sorted(set(missing) | set(result.missing_keys))
    report = dict(format=fmt, loaded=loaded, total=len(own), missing=missing, unexpected=unexpected,
                  dropped=dropped)
    msg = (f'Loaded {loaded}/{len(own)} tensors from {path} ({fmt}, {branch} branch). '
           f'Missing: {missing or "none"}. Unexpected: {unexpected or "none"}. '
           f'Not mapped (heads/projections): {dropped[:8] or "none"}{" ..." if len(dropped) > 8 else ""}')
    (logger.info if logger is not None else print)(msg)
    return report
