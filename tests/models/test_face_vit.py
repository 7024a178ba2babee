"""FaceViT: masking invariants, feature API, position-embedding resizing, config validation."""

import pytest
import torch

import mcf_mm  # noqa: F401
from mcf_fixtures.tiny import TINY_ARCH as ARCH  # noqa: E402
from mcf_mm.models.backbones import FaceViT


def tiny(**kw) -> FaceViT:
    torch.manual_seed(0)
    m = FaceViT(arch=ARCH, img_size=32, patch_size=8, **kw)
    m.init_weights()
    m.eval()
    return m


@pytest.mark.parametrize('ratio', [0.75, 0.5, 0.9])
def test_masking_keeps_exact_count_per_sample(ratio):
    m = tiny(mask_ratio=ratio)
    x = torch.randn(5, 3, 32, 32)
    tokens, mask, ids_restore = m.forward_masked(x)
    length = 16
    keep = int(length * (1 - ratio))
    assert tokens.shape == (5, 1 + keep, 32)
    assert mask.shape == (5, length)
    assert torch.equal(mask.sum(1), torch.full((5,), float(length - keep)))
    # ids_restore is a permutation per sample
    assert torch.equal(ids_restore.sort(1).values, torch.arange(length).expand(5, -1))


def test_kept_tokens_are_the_unmasked_patches():
    m = tiny()
    x = torch.randn(2, 3, 32, 32)
    patches, _ = m._embed(x)  # [N, 1+L, D]
    patches = patches[:, 1:]
    kept, mask, ids_restore = m.random_masking(patches, 0.75)
    for n in range(2):
        visible = patches[n][mask[n] == 0]  # in patch order
        assert torch.allclose(kept[n].sort(0).values, visible.sort(0).values)


def test_two_views_get_different_masks():
    m = tiny()
    x = torch.randn(4, 3, 32, 32)
    _, mask_a, _ = m.forward_masked(x)
    _, mask_b, _ = m.forward_masked(x)
    assert not torch.equal(mask_a, mask_b)
    # and within a batch, samples get their own masks
    assert not all(torch.equal(mask_a[0], mask_a[i]) for i in range(1, 4))


def test_masking_is_mmpretrains_mae_masking():
    """FaceViT masks with MAEViT.random_masking: the same draws give the same kept tokens, mask and order."""
    from mmpretrain.models.selfsup import MAEViT

    mae = MAEViT(arch=ARCH, img_size=32, patch_size=8, mask_ratio=0.75)
    x, m = torch.randn(3, 16, 32), tiny()
    for ratio in (0.75, 0.5, 0.3):
        torch.manual_seed(7)
        ours = m.random_masking(x, ratio)
        torch.manual_seed(7)
        theirs = mae.random_masking(x, ratio)
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
    # and forward_masked draws its mask the same way: seeding fixes it
    img = torch.randn(2, 3, 32, 32)
    torch.manual_seed(3)
    _, mask_a, _ = m.forward_masked(img)
    torch.manual_seed(3)
    _, mask_b, _ = m.forward_masked(img)
    assert torch.equal(mask_a, mask_b)


def test_mask_ratio_that_leaves_no_patch_fails_at_build():
    # 64 patches (64 px / 8): int(64 * 0.01) = 0 visible patches
    msg = r'keeps int\(64 \* \(1 - 0.99\)\) = 0 of 64 patches.*`mask_ratio` to at most 0.984375'
    with pytest.raises(ValueError, match=msg):
        FaceViT(arch=ARCH, img_size=64, patch_size=8, mask_ratio=0.99)
    FaceViT(arch=ARCH, img_size=64, patch_size=8, mask_ratio=0.984375)  # 64 * (1 - r) = 1 patch: allowed
    m = tiny()  # 16 patches; an explicit ratio at call time is checked the same way
    with pytest.raises(ValueError, match='keeps int'):
        m.forward_masked(torch.randn(1, 3, 32, 32), mask_ratio=0.95)


@pytest.mark.parametrize('size', [30, (32, 36)])
def test_image_size_not_divisible_by_patch_fails_at_build(size):
    with pytest.raises(ValueError, match='not divisible by patch_size=8.*multiple of 8'):
        FaceViT(arch=ARCH, img_size=size, patch_size=8)


@pytest.mark.parametrize('ratio', [0.0, 1.0, -0.1, 1.5])
def test_bad_mask_ratio_names_the_fix(ratio):
    with pytest.raises(ValueError, match='mask_ratio.*strictly between 0 and 1'):
        FaceViT(arch=ARCH, img_size=32, patch_size=8, mask_ratio=ratio)


def test_intermediate_layers_match_forward_and_are_unnormalised():
    m = tiny(out_indices=(0, 1), out_type='featmap', final_norm=False)
    x = torch.randn(2, 3, 32, 32)
    feats = m.get_intermediate_layers(x, (0, 1))
    outs = m(x)
    assert [f.shape for f in feats] == [(2, 32, 4, 4)] * 2
    for f, o in zip(feats, outs):
        assert torch.allclose(f, o, atol=1e-6)
    tokens = m.get_intermediate_layers(x, (1,), reshape=False)[0]
    assert tokens.shape == (2, 17, 32)
    with pytest.raises(ValueError, match='final_norm'):
        m.get_intermediate_layers(x, (1,), norm=True)
    normed_model = tiny()  # same seed, with the final norm
    normed = normed_model.get_intermediate_layers(x, (1,), norm=True, reshape=False)[0]
    assert torch.allclose(normed, normed_model.ln1(tokens), atol=1e-6)
    with pytest.raises(IndexError, match='out of range'):
        m.get_intermediate_layers(x, (2,))


def test_sincos_position_embedding_is_fixed():
    m = tiny()
    assert not m.pos_embed.requires_grad
    assert torch.all(m.pos_embed[0, 0] == 0)  # CLS position
    assert torch.allclose(m.pos_embed[0, 1:].abs().max(), torch.tensor(1.0))


def test_resize_input_and_pos_embed_resizing_on_load():
    small = tiny()
    big = FaceViT(arch=ARCH, img_size=64, patch_size=8, fixed_pos_embed=False)
    big.load_state_dict(small.state_dict())
    assert big.pos_embed.shape == (1, 65, 32)
    # bicubic resize keeps the CLS position and interpolates the grid
    assert torch.allclose(big.pos_embed[0, 0], small.pos_embed[0, 0])
    x = torch.randn(1, 3, 48, 48)
    resized = FaceViT(
        arch=ARCH, img_size=64, patch_size=8, resize_input=64, out_type='featmap', final_norm=False, out_indices=(1,)
    )
    assert resized(x)[0].shape == (1, 32, 8, 8)
