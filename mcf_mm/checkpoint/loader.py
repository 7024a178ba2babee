"""Loading checkpoints into models, loudly: how many tensors loaded, what was missing or unexpected.

:func:`load_vit_weights` maps a checkpoint of any supported format onto a ViT backbone (``init_cfg``,
teachers). :func:`load_model_weights` loads a trained model's own checkpoint (inference APIs and tools) and
refuses one of another model, saying what the file holds.
"""

from typing import Dict, List, Sequence

from torch import Tensor, nn

from .arch import infer_vit_arch, is_clip_style
from .formats import REGISTRY, describe, state_dict_of, tensors, to_vit_state_dict
from .io import CheckpointFormatError, read_checkpoint


class CheckpointMismatchError(CheckpointFormatError):
    """The checkpoint holds another model than the one it is loaded into."""


def _check_compatible(model: nn.Module, sd: Dict[str, Tensor], fmt: str, path: str) -> None:
    """Raise a clear error when the checkpoint's architecture differs from the model's (shape, CLIP-ness)."""
    own = model.state_dict()
    if is_clip_style(sd) and 'pre_norm.weight' not in own:
        raise CheckpointFormatError(
            f'{path!r} holds a CLIP/FaRL-style ViT (ln_pre, no patch bias, QuickGELU) but the model has no '
            'pre-norm; build FaceViT with `**clip_style_vit_kwargs()` (pre_norm=True, patch_cfg=dict(bias=False), '
            "norm_cfg=dict(type='LN', eps=1e-5), layer_cfgs=dict(act_cfg=dict(type='mmpretrain.QuickGELU')), "
            'fixed_pos_embed=False).'
        )
    bad = [
        (k, tuple(v.shape), tuple(own[k].shape))
        for k, v in sd.items()
        if k in own and k != 'pos_embed' and v.shape != own[k].shape
    ]
    if bad:
        raise CheckpointFormatError(
            f'{path!r} ({fmt}) has a different ViT architecture: {len(bad)} tensors differ in shape, e.g. '
            f'{bad[:3]} (checkpoint vs model). Set the backbone `arch`/`patch_size` to match '
            f'(inferred from the file: {infer_vit_arch(sd, fmt)["arch"]}).'
        )


def load_vit_weights(
    model: nn.Module, path: str, source: str = 'auto', branch: str = 'online', min_matched: float = 0.9, logger=None
) -> dict:
    """Load a checkpoint of any supported format into a ViT, loudly.

    Prints how many tensors loaded and lists missing/unexpected keys; raises if fewer than ``min_matched``
    of the model's tensors were found. Position embeddings are resized by the model's load hook.

    Args:
        model: an mmpretrain-style VisionTransformer (e.g. FaceViT).
        path: checkpoint file of any supported format (read safely).
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
            'Lower `min_matched` only if a partial load is intended.'
        )
    result = model.load_state_dict({k: v for k, v in sd.items() if k in own}, strict=False)
    missing = sorted(set(missing) | set(result.missing_keys))
    report = dict(format=fmt, loaded=loaded, total=len(own), missing=missing, unexpected=unexpected, dropped=dropped)
    msg = (
        f'Loaded {loaded}/{len(own)} tensors from {path} ({fmt}, {branch} branch). '
        f'Missing: {missing or "none"}. Unexpected: {unexpected or "none"}. '
        f'Not mapped (heads/projections): {dropped[:8] or "none"}{" ..." if len(dropped) > 8 else ""}'
    )
    (logger.info if logger is not None else print)(msg)
    return report


def describe_checkpoint(ckpt: dict) -> str:
    """What kind of model a checkpoint holds, in words (for refusals), e.g. 'an MCF pre-training checkpoint'."""
    sd = tensors(state_dict_of(ckpt))
    keys = list(sd)
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
    n = f'{len(keys)} tensors'
    if any(k.startswith('decode_head.') for k in keys):
        return f'a segmentation model (mmseg EncoderDecoder with decode_head, e.g. face parsing; {n})'
    if any(k.startswith('text_encoder.') for k in keys):
        return f'a FaRL pre-training checkpoint (image and text towers; {n})'
    if meta.get('mcf_mm_algorithm') or any(
        k.startswith(('target.backbone.', 'projector.', 'contrast_head.')) for k in keys
    ):
        return f'an MCF pre-training checkpoint ({meta.get("mcf_mm_algorithm") or "mcf_mm"} format; {n})'
    if any(k.startswith('head.') for k in keys) and any(k.startswith('backbone.') for k in keys):
        kind = (
            'a classifier'
            if any(k.startswith('head.fc') or '.head.' in k for k in keys)
            else 'a model with a backbone and a head (e.g. mmpose face alignment)'
        )
        return f'{kind} ({n}, head keys {[k for k in keys if k.startswith("head.")][:3]})'
    for fmt in REGISTRY.values():
        try:
            if fmt.detect(ckpt):
                return f'a {fmt.name} backbone / pre-training checkpoint ({n}): {fmt.summary}'
        except CheckpointFormatError as err:
            return str(err)
    return describe(sd)


def check_fits(
    own: Dict[str, Tensor], sd: Dict[str, Tensor], ckpt: dict, path: str, expected: str, optional: Sequence[str] = ()
) -> List[str]:
    """Refuse ``sd`` unless it holds every tensor of ``own`` (a model's state dict) with the same shape.

    ``pos_embed`` may differ (the ViT resizes it); keys under ``optional`` prefixes may be missing. Returns the
    unexpected keys; raises :class:`CheckpointMismatchError` naming what the file holds instead.
    """
    missing = [k for k in own if k not in sd and not k.startswith(tuple(optional))]
    bad = [
        (k, tuple(sd[k].shape), tuple(v.shape))
        for k, v in own.items()
        if k in sd and sd[k].shape != v.shape and not k.endswith('pos_embed')
    ]
    unexpected = [k for k in sd if k not in own]
    if missing or bad:
        found = describe_checkpoint(ckpt)
        hint = (
            'to use it, fine-tune from it instead (`--cfg-options model.backbone.init_cfg.checkpoint=PATH`; '
            'tools/model_converters/convert.py maps other formats)'
            if 'pre-training' in found or 'backbone' in found
            else 'pass the checkpoint trained with this config'
        )
        raise CheckpointMismatchError(
            f'{path!r} does not hold {expected}: it holds {found}. Compared with the model, '
            f'{len(missing)}/{len(own)} tensors are missing (e.g. {missing[:3]}), {len(bad)} differ in shape '
            f'(e.g. {bad[:2]}, file vs model) and {len(unexpected)} are unexpected (e.g. {unexpected[:3]}); '
            f'{hint}.'
        )
    return unexpected


def load_model_weights(
    model: nn.Module, path: str, expected: str = 'this model', optional: Sequence[str] = (), logger=None
) -> dict:
    """Load a trained model's own checkpoint (``state_dict``) into ``model`` after checking it fits.

    Every tensor of the model must be in the file with the same shape (``pos_embed`` may differ: the ViT
    resizes it); otherwise :class:`CheckpointMismatchError` says what the file holds instead.

    Args:
        model: the built model (e.g. from a downstream config).
        path: its trained checkpoint (read safely).
        expected: what the checkpoint should hold, for the message (e.g. 'a face-alignment model').
        optional: key prefixes of parts the caller does not use, which may be missing (they keep their init).
        logger: where to report (default ``print``).
    Returns:
        the checkpoint's ``meta`` dict (empty if none).
    """
    ckpt = read_checkpoint(path)
    sd = tensors(state_dict_of(ckpt))
    if sd and all(k.startswith('module.') for k in sd):
        sd = type(sd)((k[len('module.') :], v) for k, v in sd.items())  # saved from a DDP wrapper
    own = model.state_dict()
    unexpected = check_fits(own, sd, ckpt, path, expected, optional)
    model.load_state_dict({k: v for k, v in sd.items() if k in own}, strict=False)
    skipped = [k for k in own if k not in sd]  # only optional parts can be absent here
    msg = (
        f'Loaded {len(own) - len(skipped)}/{len(own)} tensors from {path}. Not in the file (optional, kept as '
        f'initialised): {skipped[:8] or "none"}. Unexpected (ignored): '
        f'{unexpected[:8] or "none"}{" ..." if len(unexpected) > 8 else ""}'
    )
    (logger.info if logger is not None else print)(msg)
    meta = ckpt.get('meta')
    return meta if isinstance(meta, dict) else {}
