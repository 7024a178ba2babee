"""Sin-cos tables: 'mae' is MAE's published get_2d_sincos_pos_embed; mmpretrain's is it with rows/cols swapped."""

import numpy as np
import pytest
import torch

import mcf_mm  # noqa: F401
from mcf_fixtures.tiny import TINY_ARCH
from mcf_mm.models.backbones import FaceViT
from mcf_mm.models.necks import FaceMAEDecoder


# ---- MAE's util/pos_embed.py, written out ------------------------------------------------------------------
def get_1d_sincos_pos_embed_from_grid(embed_dim, pos):
    omega = np.arange(embed_dim // 2, dtype=np.float64)
    omega /= embed_dim / 2.0
    omega = 1.0 / 10000**omega
    pos = pos.reshape(-1)
    out = np.einsum('m,d->md', pos, omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def get_2d_sincos_pos_embed_from_grid(embed_dim, grid):
    emb_h = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[0])
    emb_w = get_1d_sincos_pos_embed_from_grid(embed_dim // 2, grid[1])
    return np.concatenate([emb_h, emb_w], axis=1)


def get_2d_sincos_pos_embed(embed_dim, grid_size, cls_token=False):
    grid_h = np.arange(grid_size, dtype=np.float32)
    grid_w = np.arange(grid_size, dtype=np.float32)
    grid = np.meshgrid(grid_w, grid_h)
    grid = np.stack(grid, axis=0)
    grid = grid.reshape([2, 1, grid_size, grid_size])
    pos_embed = get_2d_sincos_pos_embed_from_grid(embed_dim, grid)
    if cls_token:
        pos_embed = np.concatenate([np.zeros([1, embed_dim]), pos_embed], axis=0)
    return pos_embed


# --------------------------------------------------------------------------------------------------------------
def mae_table(dims: int, side: int) -> torch.Tensor:
    return torch.from_numpy(get_2d_sincos_pos_embed(dims, side, cls_token=True)).float()  # [1+L, D]


def swap_rows_and_cols(table: torch.Tensor, side: int) -> torch.Tensor:
    """Re-index the patch rows of a [1+L, D] table from (r, c) to (c, r)."""
    patches = table[1:].reshape(side, side, -1).transpose(0, 1).reshape(side * side, -1)
    return torch.cat([table[:1], patches])


@pytest.mark.parametrize('img_size, patch', [(32, 8), (32, 4)])
def test_encoder_tables(img_size, patch):
    side = img_size // patch
    mae = FaceViT(arch=TINY_ARCH, img_size=img_size, patch_size=patch, sincos_layout='mae')
    mae.init_weights()
    assert torch.allclose(mae.pos_embed[0], mae_table(32, side), atol=1e-6)
    default = FaceViT(arch=TINY_ARCH, img_size=img_size, patch_size=patch)
    assert torch.allclose(default.pos_embed[0], swap_rows_and_cols(mae_table(32, side), side), atol=1e-6)
    assert not torch.allclose(default.pos_embed, mae.pos_embed)


def test_decoder_tables():
    kwargs = dict(num_patches=16, patch_size=8, embed_dim=32, decoder_embed_dim=32, decoder_depth=1)
    mae = FaceMAEDecoder(sincos_layout='mae', decoder_num_heads=2, **kwargs)
    mae.init_weights()
    assert torch.allclose(mae.decoder_pos_embed[0], mae_table(32, 4), atol=1e-6)
    default = FaceMAEDecoder(decoder_num_heads=2, **kwargs)
    default.init_weights()
    assert torch.allclose(default.decoder_pos_embed[0], swap_rows_and_cols(mae_table(32, 4), 4), atol=1e-6)


def test_bad_layout_is_refused():
    with pytest.raises(ValueError, match='sincos_layout'):
        FaceViT(arch=TINY_ARCH, img_size=32, patch_size=8, sincos_layout='timm')
    with pytest.raises(ValueError, match='sincos_layout'):
        FaceMAEDecoder(sincos_layout='timm', num_patches=16, patch_size=8, embed_dim=32)
