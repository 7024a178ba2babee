"""FaceViT constructor arguments recovered from a mapped ViT state dict (width, depth, patch, CLIP style)."""

from typing import Dict, Optional

from torch import Tensor

from .formats import describe
from .io import CheckpointFormatError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def is_clip_style(sd: Dict[str, Tensor]) -> bool:
    """A mapped ViT state dict is CLIP/FaRL-style when it has a pre-norm and a bias-free patch projection."""
    return 'pre_norm.weight' in sd and 'patch_embed.projection.bias' not in sd


def clip_style_vit_kwargs() -> dict:
    """FaceViT arguments reproducing the CLIP/FaRL visual tower (pre-norm, QuickGELU, eps 1e-5, no patch bias)."""
    return dict(
        pre_norm=True,
        fixed_pos_embed=False,
        norm_cfg=dict(type='LN', eps=1e-5),
        patch_cfg=dict(bias=False),
        layer_cfgs=dict(act_cfg=dict(type='mmpretrain.QuickGELU')),
    )


def infer_vit_arch(sd: Dict[str, Tensor], fmt: str, num_heads: Optional[int] = None) -> dict:
    """Infer FaceViT constructor arguments (arch, patch size, CLIP settings) from a mapped state dict.

    The head count is not stored in weights: it defaults to the standard head width of 64
    (ViT-Ti/S/B/L/H all use it); pass ``num_heads`` for other models.

    Args:
        sd: state dict with mmpretrain ViT names (from ``to_vit_state_dict``).
        fmt: its format (for messages, and 'clip' selects CLIP settings).
        num_heads: attention heads, if not width // 64.
    """
    try:
        proj = sd['patch_embed.projection.weight']  # [D, 3, p, p]
    except KeyError:
        raise CheckpointFormatError(
            f'no patch embedding in the {fmt} checkpoint; it is not a ViT ({describe(sd)}).'
        ) from None
    dims, patch = proj.shape[0], proj.shape[-1]
    layer_ids = [int(k.split('.')[1]) for k in sd if k.startswith('layers.')]
    if not layer_ids:
        raise CheckpointFormatError(f'the {fmt} checkpoint has a patch embedding but no transformer blocks.')
    ffn = sd['layers.0.ffn.layers.0.0.weight'].shape[0]
    heads = num_heads or max(1, dims // 64)
    if dims % heads:
        raise ValueError(f'num_heads={heads} does not divide the width {dims} of the {fmt} ViT.')
    kwargs = dict(
        arch=dict(embed_dims=dims, num_layers=1 + max(layer_ids), num_heads=heads, feedforward_channels=ffn),
        patch_size=patch,
    )
    if 'pos_embed' in sd:
        tokens = sd['pos_embed'].shape[1]
        kwargs['img_size'] = int(round((tokens - ('cls_token' in sd)) ** 0.5)) * patch
    if 'cls_token' not in sd:
        kwargs['with_cls_token'] = False
        kwargs['out_type'] = 'featmap'
    if fmt == 'clip' or is_clip_style(sd):
        kwargs.update(clip_style_vit_kwargs())
    return kwargs
