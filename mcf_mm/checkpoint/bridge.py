"""Read any supported face-backbone checkpoint and map it onto mmpretrain VisionTransformer names.

Formats (``source``): 'mcf_mm' (this toolbox's pre-training checkpoints), 'mcf' (original MCF code),
'mocov3', 'timm' (timm / MAE), 'mmpretrain', 'clip' (OpenAI CLIP and FaRL, ``visual.*``). Downloaded files
are read with ``weights_only=True``; an mmengine runner checkpoint (which pickles mmengine/numpy objects) is
re-read with a restricted unpickler that accepts only those objects.
"""
import argparse
import io
import os.path as osp
import pickle
import re
import types
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from mcf_mm.utils.compat import atomic_write_bytes

FORMATS = ('mcf_mm', 'mcf', 'mocov3', 'timm', 'mmpretrain', 'clip')
BRANCHES = ('online', 'target')
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
# Globals an mmengine runner checkpoint pickles besides tensors (message hub, numpy scalars/arrays).
_RUNNER_GLOBALS = re.compile(
    r'^(mmengine\.logging\.\w+\.\w+|mmengine\.config\.config\.\w+|numpy\.(core|_core)\.multiarray\.'
    r'(_reconstruct|scalar)|numpy\.(dtype|ndarray)|numpy\.dtypes\.\w+DType|collections\.(OrderedDict|defaultdict)|'
    r'_codecs\.encode|builtins\.(set|frozenset|slice|complex|bytearray)|argparse\.Namespace|'
    r'torch\.(_utils\._rebuild_\w+|_tensor\._rebuild_from_type_v2|\w*Storage|storage\.UntypedStorage|Size|'
    r'device|Tensor|nn\.parameter\.Parameter|float\w*|bfloat16|half|double|int\d*|long|uint8|bool|'
    r'serialization\._get_layout|strided))$')


class _RunnerUnpickler(pickle.Unpickler):
    """Unpickles an mmengine runner checkpoint, refusing every global outside :data:`_RUNNER_GLOBALS`."""

    def find_class(self, module: str, name: str):
        full = f'{module}.{name}'
        if full in ('__builtin__.getattr', 'builtins.getattr'):
            return _history_buffer_getattr  # HistoryBuffer pickles its statistic methods via getattr
        if full in ('__builtin__.bytes', 'builtins.bytes') or _RUNNER_GLOBALS.match(full):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f'untrusted global {full}')


def _history_buffer_getattr(obj, name: str, *default):
    from mmengine.logging import HistoryBuffer
    if name.startswith('_') or not (obj is HistoryBuffer or isinstance(obj, HistoryBuffer)):
        raise pickle.UnpicklingError(f'untrusted getattr({type(obj).__name__}, {name!r})')
    return getattr(obj, name, *default)


_RUNNER_PICKLE = types.SimpleNamespace(__name__='mcf_mm_runner_pickle', Unpickler=_RunnerUnpickler,
                                       load=lambda f, **kw: _RunnerUnpickler(f, **kw).load())


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
    """Load a checkpoint file safely (``weights_only=True``) with clear errors for missing/corrupt files.

    Args:
        path: checkpoint file.
        map_location: device for the tensors.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path!r}; check the path in your config '
                                '(e.g. `teacher.checkpoint` or `init_cfg.checkpoint`).')
    if osp.getsize(path) == 0:
        raise CheckpointFormatError(f'checkpoint {path!r} is an empty file; download or copy it again.')
    try:
        # MAE / MCF checkpoints store their argparse ``args``: a plain namespace, safe to rebuild.
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # pickle/zip errors, truncated downloads, non-checkpoint files
        blocked = re.findall(r'GLOBAL ([\w.]+)', str(err))
        if not blocked:
            raise CheckpointFormatError(
                f'cannot read checkpoint {path!r} ({type(err).__name__}: {str(err)[:200]}); the file is '
                'corrupt, truncated or not a PyTorch checkpoint.') from err
        try:  # an mmengine runner checkpoint (HistoryBuffer, numpy objects): a restricted unpickler
            ckpt = torch.load(path, map_location=map_location, weights_only=False, pickle_module=_RUNNER_PICKLE)
        except pickle.UnpicklingError as err2:
            found = re.findall(r'untrusted (?:global )?(.+)$', str(err2)) or blocked
            raise CheckpointFormatError(
                f'checkpoint {path!r} pickles untrusted objects ({", ".join(found[:3])}); it is not a plain '
                'state dict. Re-save it as `torch.save({"state_dict": model.state_dict()}, path)`.') from err
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
    """One line saying what kind of model a state dict that is not a supported ViT holds."""
    keys = list(sd)
    if not keys:
        return 'no tensors at all'
    hint = 'an unrecognised model'
    if any(re.search(r'(^|\.)layer[1-4]\.\d+\.', k) or '.downsample.' in k for k in keys):
        hint = 'a ResNet-style CNN (layer1..layer4 blocks), not a ViT'
    elif any('token_embedding' in k for k in keys) and not any(k.startswith('visual.') for k in keys):
        hint = 'a text-only transformer (CLIP text tower: token_embedding, no `visual.*` image encoder)'
    elif any(k.startswith(('encoder.layer.', 'bert.', 'embeddings.word_embeddings')) for k in keys):
        hint = 'a text-only BERT-style transformer, not an image encoder'
    return f'{hint}: {len(keys)} tensors, first keys {keys[:4]}'


def _state_dict_of(ckpt: dict) -> dict:
    for key in ('state_dict', 'model'):
        if isinstance(ckpt.get(key), dict):
            return ckpt[key]
    return ckpt


def detect_format(ckpt: dict) -> str:
    """Name the checkpoint format, or raise :class:`CheckpointFormatError` describing what was found."""
    if 'model' in ckpt and isinstance(ckpt['model'], dict):
        keys = list(ckpt['model'])
        if any(k.startswith('online_encoder.') for k in keys):
            return 'mcf'
        if any(k.startswith(('blocks.', 'patch_embed.proj.')) for k in keys):
            return 'timm'  # MAE / DeiT style {'model': ...}
    sd = _state_dict_of(ckpt)
    keys = list(sd) if isinstance(sd, dict) else []
    if any(k.startswith('module.base_encoder.') for k in keys):
        return 'mocov3'
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
    if meta.get('mcf_mm_algorithm') or any(k.startswith('target.backbone.') for k in keys):
        return 'mcf_mm'
    if any(k.startswith('visual.layer1.') for k in keys):
        raise CheckpointFormatError(
            f'found a CLIP ResNet image encoder (ModifiedResNet, `visual.layer1.*`), not a CLIP ViT; '
            f'only ViT checkpoints load into FaceViT ({_describe(_tensors(sd))}).')
    if any(k.startswith(('visual.conv1.', 'visual.transformer.')) for k in keys) or (
            any(k.startswith('conv1.') for k in keys) and any(k.startswith('transformer.resblocks.') for k in keys)):
        return 'clip'
    if any(k.startswith(('backbone.patch_embed.projection', 'patch_embed.projection')) for k in keys):
        return 'mmpretrain'
    if any(k.startswith(('blocks.', 'patch_embed.proj.', 'module.blocks.', 'module.patch_embed.proj.'))
           for k in keys):
        return 'timm'
    raise CheckpointFormatError(
        f'unknown checkpoint format, found {_describe(_tensors(sd) if isinstance(sd, dict) else {})}; '
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
    sd = _tensors(ckpt['model'] if fmt in ('mcf', 'timm') and isinstance(ckpt.get('model'), dict)
                  else _state_dict_of(ckpt))
    if fmt == 'mcf_mm':
        part = _strip(sd, 'backbone.' if branch == 'online' else 'target.backbone.')
        return _require(part, fmt, 'backbone.' if branch == 'online' else 'target.backbone.'), fmt, []
    if fmt == 'mmpretrain':
        part = _strip(sd, 'backbone.') if any(k.startswith('backbone.') for k in sd) else sd
        return part, fmt, []
    if fmt == 'mcf':
        prefix = 'online_encoder.' if branch == 'online' else 'target_encoder.'
        sd = _require(_strip(sd, prefix), fmt, prefix)
    elif fmt == 'mocov3':
        prefix = 'module.base_encoder.' if branch == 'online' else 'module.momentum_encoder.'
        sd = _require(_strip(sd, prefix), fmt, prefix)
    elif fmt == 'timm' and sd and all(k.startswith('module.') for k in sd):
        sd = _strip(sd, 'module.')  # saved from a DistributedDataParallel wrapper
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


def _require(part: Dict[str, Tensor], fmt: str, prefix: str) -> Dict[str, Tensor]:
    if not part:
        raise CheckpointFormatError(f'the {fmt} checkpoint has no tensors under {prefix!r}; choose the other '
                                    f'`branch` ({BRANCHES}) or check the file.')
    return part


def is_clip_style(sd: Dict[str, Tensor]) -> bool:
    """A mapped ViT state dict is CLIP/FaRL-style when it has a pre-norm and a bias-free patch projection."""
    return 'pre_norm.weight' in sd and 'patch_embed.projection.bias' not in sd


def infer_vit_arch(sd: Dict[str, Tensor], fmt: str, num_heads: Optional[int] = None) -> dict:
    """Infer FaceViT constructor arguments (arch, patch size, CLIP settings) from a mapped state dict.

    The head count is not stored in weights: it defaults to the standard head width of 64
    (ViT-Ti/S/B/L/H all use it); pass ``num_heads`` for other models.

    Args:
        sd: state dict with mmpretrain ViT names (from :func:`to_vit_state_dict`).
        fmt: its format (for messages, and 'clip' selects CLIP settings).
        num_heads: attention heads, if not width // 64.
    """
    try:
        proj = sd['patch_embed.projection.weight']  # [D, 3, p, p]
    except KeyError:
        raise CheckpointFormatError(f'no patch embedding in the {fmt} checkpoint; it is not a ViT '
                                    f'({_describe(sd)}).') from None
    dims, patch = proj.shape[0], proj.shape[-1]
    layer_ids = [int(k.split('.')[1]) for k in sd if k.startswith('layers.')]
    if not layer_ids:
        raise CheckpointFormatError(f'the {fmt} checkpoint has a patch embedding but no transformer blocks.')
    ffn = sd['layers.0.ffn.layers.0.0.weight'].shape[0]
    heads = num_heads or max(1, dims // 64)
    if dims % heads:
        raise ValueError(f'num_heads={heads} does not divide the width {dims} of the {fmt} ViT.')
    kwargs = dict(arch=dict(embed_dims=dims, num_layers=1 + max(layer_ids), num_heads=heads,
                            feedforward_channels=ffn), patch_size=patch)
    if 'pos_embed' in sd:
        tokens = sd['pos_embed'].shape[1]
        kwargs['img_size'] = int(round((tokens - ('cls_token' in sd)) ** 0.5)) * patch
    if 'cls_token' not in sd:
        kwargs['with_cls_token'] = False
        kwargs['out_type'] = 'featmap'
    if fmt == 'clip' or is_clip_style(sd):
        kwargs.update(clip_style_vit_kwargs())
    return kwargs


def clip_style_vit_kwargs() -> dict:
    """FaceViT arguments reproducing the CLIP/FaRL visual tower (pre-norm, QuickGELU, eps 1e-5, no patch bias)."""
    return dict(pre_norm=True, fixed_pos_embed=False, norm_cfg=dict(type='LN', eps=1e-5),
                patch_cfg=dict(bias=False), layer_cfgs=dict(act_cfg=dict(type='mmpretrain.QuickGELU')))


def _check_compatible(model: nn.Module, sd: Dict[str, Tensor], fmt: str, path: str) -> None:
    """Raise a clear error when the checkpoint's architecture differs from the model's (shape, CLIP-ness)."""
    own = model.state_dict()
    if is_clip_style(sd) and 'pre_norm.weight' not in own:
        raise CheckpointFormatError(
            f'{path!r} holds a CLIP/FaRL-style ViT (ln_pre, no patch bias, QuickGELU) but the model has no '
            'pre-norm; build FaceViT with `**clip_style_vit_kwargs()` (pre_norm=True, patch_cfg=dict(bias=False), '
            "norm_cfg=dict(type='LN', eps=1e-5), layer_cfgs=dict(act_cfg=dict(type='mmpretrain.QuickGELU')), "
            'fixed_pos_embed=False).')
    bad = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in sd.items()
           if k in own and k != 'pos_embed' and v.shape != own[k].shape]
    if bad:
        raise CheckpointFormatError(
            f'{path!r} ({fmt}) has a different ViT architecture: {len(bad)} tensors differ in shape, e.g. '
            f'{bad[:3]} (checkpoint vs model). Set the backbone `arch`/`patch_size` to match '
            f'(inferred from the file: {infer_vit_arch(sd, fmt)["arch"]}).')


def load_vit_weights(model: nn.Module, path: str, source: str = 'auto', branch: str = 'online',
                     min_matched: float = 0.9, logger=None) -> dict:
    """Load a checkpoint of any supported format into a ViT, loudly.

    Prints how many tensors loaded and lists missing/unexpected keys; raises if fewer than ``min_matched``
    of the model's tensors were found. Position embeddings are resized by the model's load hook.

    Args:
        model: an mmpretrain-style VisionTransformer (e.g. FaceViT).
        path: checkpoint file of any supported format.
        source: format name or 'auto'.
        branch: 'online' | 'target' for two-encoder checkpoints.
        min_matched: fraction of the model's tensors that must be found in the checkpoint.
        logger: where to report (default ``print``).
    Returns:
        a report dict (format, loaded, total, missing, unexpected, dropped).
    """
    if not 0.0 <= min_matched <= 1.0:
        raise ValueError(f'min_matched={min_matched} must lie in [0, 1].')
    ckpt = read_checkpoint(path)
    sd, fmt, dropped = to_vit_state_dict(ckpt, source, branch)
    _check_compatible(model, sd, fmt, path)
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


def convert_checkpoint(src: str, dst: str, source: str = 'auto', branch: str = 'online',
                       num_heads: Optional[int] = None) -> dict:
    """Convert any supported checkpoint to an mmpretrain/mcf_mm backbone checkpoint.

    The output is ``{'state_dict': {'backbone.<mmpretrain name>': tensor}, 'meta': {...}}`` and loads
    with ``weights_only=True``; ``meta['vit_kwargs']`` holds the FaceViT arguments that rebuild the model.

    Args:
        src: input checkpoint of any supported format.
        dst: output path (its folder is created).
        source: input format or 'auto'.
        branch: 'online' | 'target' for two-encoder checkpoints.
        num_heads: attention heads of the ViT if not width // 64 (recorded in the meta).
    Returns:
        the meta dict written.
    """
    ckpt = read_checkpoint(src)
    sd, fmt, dropped = to_vit_state_dict(ckpt, source, branch)
    kwargs = infer_vit_arch(sd, fmt, num_heads)
    meta = dict(source_format=fmt, branch=branch, converted_from=osp.basename(src), vit_kwargs=kwargs,
                dropped_keys=list(dropped), num_tensors=len(sd))
    if fmt == 'clip':
        meta.update(mean=list(CLIP_MEAN), std=list(CLIP_STD))
    out = OrderedDict(('backbone.' + k, v.contiguous().clone()) for k, v in sd.items())
    buf = io.BytesIO()
    torch.save(dict(state_dict=out, meta=meta), buf)
    atomic_write_bytes(buf.getvalue(), dst)  # never a half-written file at dst
    print(f'Converted {len(out)} tensors ({fmt}, {branch}) from {src} to {dst}; '
          f'dropped {len(dropped)} non-backbone tensors. FaceViT kwargs: {kwargs}')
    return meta


def converter_cli(source: str, description: str, argv: Optional[List[str]] = None) -> dict:
    """Command line of every ``tools/model_converters/*`` script: ``SRC DST [--branch] [--num-heads]``.

    Args:
        source: the input format the script converts (one of :data:`FORMATS`, or 'auto').
        description: the script's help text.
        argv: arguments (default ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='input checkpoint')
    parser.add_argument('dst', help='output backbone checkpoint (.pth)')
    parser.add_argument('--branch', choices=BRANCHES, default='online',
                        help='which encoder of a two-encoder checkpoint (MCF online/target, MoCo-v3 base/momentum)')
    parser.add_argument('--num-heads', type=int, default=None, help='attention heads if not width // 64')
    args = parser.parse_args(argv)
    return convert_checkpoint(args.src, args.dst, source=source, branch=args.branch, num_heads=args.num_heads)


_CLIP_TEXT_PREFIXES = ('token_embedding.', 'positional_embedding', 'transformer.', 'ln_final.', 'text_projection')


def clip_to_farl_state_dict(ckpt: dict) -> Dict[str, Tensor]:
    """Map a whole OpenAI CLIP / FaRL checkpoint (image and text towers) onto mcf_mm's ``FaRL`` algorithm.

    ``visual.*`` -> ``backbone.*`` (mmpretrain names), ``visual.proj`` [W, E] -> ``visual_proj.weight``
    [E, W], the text tower -> ``text_encoder.*`` (same names), ``logit_scale`` -> ``itc_loss.logit_scale``.
    Lets FaRL pre-training continue from the released weights, or zero-shot use of them.
    """
    sd = _tensors(_state_dict_of(ckpt))
    if not any(k.startswith('visual.') for k in sd) or 'token_embedding.weight' not in sd:
        raise CheckpointFormatError('a FaRL/CLIP checkpoint with both towers (`visual.*` and `token_embedding`) '
                                    f'is needed; found {_describe(sd)}.')
    vit, _, _ = to_vit_state_dict({'state_dict': sd}, source='clip')
    out = OrderedDict(('backbone.' + k, v) for k, v in vit.items())
    if 'visual.proj' in sd:
        out['visual_proj.weight'] = sd['visual.proj'].t().contiguous()
    out.update(('text_encoder.' + k, v) for k, v in sd.items() if k.startswith(_CLIP_TEXT_PREFIXES))
    if 'logit_scale' in sd:
        out['itc_loss.logit_scale'] = sd['logit_scale']
    return out
