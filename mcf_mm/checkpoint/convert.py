"""Conversions written to disk: a backbone checkpoint from any format, a FaRL algorithm checkpoint from a
FaRL/CLIP release (both towers), and the explicit plain re-save of a trusted old checkpoint."""

import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional

from torch import Tensor

from .arch import CLIP_MEAN, CLIP_STD, infer_vit_arch
from .formats import describe, state_dict_of, tensors, to_vit_state_dict
from .io import CheckpointFormatError, atomic_save, read_checkpoint, read_trusted_checkpoint, to_plain

_CLIP_TEXT_PREFIXES = ('token_embedding.', 'positional_embedding', 'transformer.', 'ln_final.', 'text_projection')


def backbone_checkpoint(
    ckpt: dict, source: str = 'auto', branch: str = 'online', num_heads: Optional[int] = None, converted_from: str = ''
) -> dict:
    """``{'state_dict': {'backbone.<mmpretrain name>': tensor}, 'meta': {...}}`` from a loaded checkpoint.

    ``meta['vit_kwargs']`` holds the FaceViT arguments that rebuild the model.
    """
    sd, fmt, dropped = to_vit_state_dict(ckpt, source, branch)
    kwargs = infer_vit_arch(sd, fmt, num_heads)
    meta = dict(
        source_format=fmt,
        branch=branch,
        converted_from=converted_from,
        vit_kwargs=kwargs,
        dropped_keys=list(dropped),
        num_tensors=len(sd),
    )
    if fmt == 'clip':
        meta.update(mean=list(CLIP_MEAN), std=list(CLIP_STD))
    out = OrderedDict(('backbone.' + k, v.contiguous().clone()) for k, v in sd.items())
    return dict(state_dict=out, meta=meta)


def convert_checkpoint(
    src: str, dst: str, source: str = 'auto', branch: str = 'online', num_heads: Optional[int] = None
) -> dict:
    """Convert any supported checkpoint to an mmpretrain/mcf_mm backbone checkpoint (read safely, written
    atomically; the output loads with ``weights_only=True``).

    Args:
        src: input checkpoint of any supported format.
        dst: output path (its folder is created).
        source: input format or 'auto'.
        branch: 'online' | 'target' for two-encoder checkpoints.
        num_heads: attention heads of the ViT if not width // 64 (recorded in the meta).
    Returns:
        the meta dict written.
    """
    out = backbone_checkpoint(read_checkpoint(src), source, branch, num_heads, osp.basename(src))
    atomic_save(out, dst)  # never a half-written file at dst
    meta = out['meta']
    print(
        f'Converted {meta["num_tensors"]} tensors ({meta["source_format"]}, {branch}) from {src} to {dst}; '
        f'dropped {len(meta["dropped_keys"])} non-backbone tensors. FaceViT kwargs: {meta["vit_kwargs"]}'
    )
    return meta


def clip_to_farl_state_dict(ckpt: dict) -> Dict[str, Tensor]:
    """Map a whole OpenAI CLIP / FaRL checkpoint (image and text towers) onto mcf_mm's ``FaRL`` algorithm.

    ``visual.*`` -> ``backbone.*`` (mmpretrain names), ``visual.proj`` [W, E] -> ``visual_proj.weight``
    [E, W], the text tower -> ``text_encoder.*`` (same names), ``logit_scale`` -> ``itc_loss.logit_scale``.
    Lets FaRL pre-training continue from the released weights, or zero-shot use of them.
    """
    sd = tensors(state_dict_of(ckpt))
    if not any(k.startswith('visual.') for k in sd) or 'token_embedding.weight' not in sd:
        raise CheckpointFormatError(
            'a FaRL/CLIP checkpoint with both towers (`visual.*` and `token_embedding`) '
            f'is needed; found {describe(sd)}.'
        )
    vit, _, _ = to_vit_state_dict({'state_dict': sd}, source='clip')
    out = OrderedDict(('backbone.' + k, v) for k, v in vit.items())
    if 'visual.proj' in sd:
        out['visual_proj.weight'] = sd['visual.proj'].t().contiguous()  # [W, E] -> [E, W]
    out.update(('text_encoder.' + k, v) for k, v in sd.items() if k.startswith(_CLIP_TEXT_PREFIXES))
    if 'logit_scale' in sd:
        out['itc_loss.logit_scale'] = sd['logit_scale']
    return out


def convert_farl_checkpoint(src: str, dst: str) -> Dict[str, Tensor]:
    """Write a checkpoint of mcf_mm's ``FaRL`` algorithm from a FaRL/CLIP release with both towers."""
    sd = clip_to_farl_state_dict(read_checkpoint(src))
    atomic_save(dict(state_dict=sd, meta=dict(source_format='clip', converted_from=osp.basename(src))), dst)
    print(f'Converted {len(sd)} tensors (FaRL image + text towers) from {src} to {dst}.')
    return sd


def read_trusted_as_plain(src: str) -> dict:
    """UNSAFE READ, by explicit request only (``convert.py --trust-pickle``): fully unpickle a file the user
    trusts (their own old run, a TorchScript release) and return it in plain form (:func:`to_plain`)."""
    plain = to_plain(read_trusted_checkpoint(src))
    if isinstance(plain.get('meta', {}), dict):
        plain.setdefault('meta', {})['resaved_plain_from'] = osp.basename(src)
    return plain


def resave_trusted(src: str, dst: str) -> dict:
    """Write :func:`read_trusted_as_plain` of ``src`` to ``dst``, which :func:`read_checkpoint` then reads."""
    plain = read_trusted_as_plain(src)
    atomic_save(plain, dst)
    print(f'Re-saved {src} in plain form to {dst} (entries: {list(plain)[:8]}).')
    return plain
