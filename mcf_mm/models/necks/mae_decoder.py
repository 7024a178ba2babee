"""mmpretrain's MAE decoder with a choice of sin-cos table (the original MCF code uses MAE's own)."""

import math

from mmpretrain.models.necks import MAEPretrainDecoder

from mcf_mm.models.backbones import SINCOS_LAYOUTS, sincos_pos_embed
from mcf_mm.registry import MODELS


@MODELS.register_module()
class FaceMAEDecoder(MAEPretrainDecoder):
    """``MAEPretrainDecoder`` whose fixed position table follows ``sincos_layout``.

    Args:
        sincos_layout: 'mmpretrain' (mmpretrain's table, the same as ``MAEPretrainDecoder``) or 'mae'
            (MAE's ``get_2d_sincos_pos_embed``, as the original MCF code; rows and columns swapped).
        **kwargs: ``MAEPretrainDecoder``'s arguments (num_patches, patch_size, embed_dim, ...).
    """

    def __init__(self, sincos_layout: str = 'mmpretrain', **kwargs) -> None:
        if sincos_layout not in SINCOS_LAYOUTS:
            raise ValueError(f'sincos_layout={sincos_layout!r} is invalid; choose one of {SINCOS_LAYOUTS}.')
        super().__init__(**kwargs)
        self.sincos_layout = sincos_layout

    def init_weights(self) -> None:
        """mmpretrain's init (table, mask token), then the table of ``sincos_layout``."""
        super().init_weights()
        side = int(math.isqrt(self.num_patches))
        table = sincos_pos_embed((side, side), self.decoder_pos_embed.shape[-1], True, self.sincos_layout)
        self.decoder_pos_embed.data.copy_(table)  # [1, 1+L, D_dec]
