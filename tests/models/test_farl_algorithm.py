"""The FaRL algorithm wires its parts as FaRL describes (checked against the parts run separately)."""

import pytest
import torch
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

import mcf_mm  # noqa: F401
import mcf_mm.models  # noqa: F401
from mcf_fixtures.tiny import TINY_ARCH as ARCH  # noqa: E402
from mcf_mm.checkpoint import clip_style_vit_kwargs
from mcf_mm.registry import MODELS


def tiny_farl(tmp_path, use_mim=True):
    codebook = torch.rand(7, 8 * 8 * 3, generator=torch.Generator().manual_seed(0))
    path = str(tmp_path / 'tok.pth')
    torch.save({'state_dict': {'codebook': codebook}}, path)
    cfg = dict(
        type='FaRL',
        backbone=dict(
            type='FaceViT',
            arch=ARCH,
            img_size=32,
            patch_size=8,
            final_norm=True,
            out_type='cls_token',
            **clip_style_vit_kwargs(),
        ),
        text_encoder=dict(
            type='CLIPTextTransformer', vocab_size=49408, context_length=8, width=32, layers=2, heads=2, embed_dim=16
        ),
        embed_dim=16,
        head=dict(type='FaRLMIMHead', embed_dims=32, vocab_size=7, num_layers=1, num_heads=2),
        target_generator=dict(
            type='VisualTokenizer',
            checkpoint=path,
            input_size=32,
            pixel_map='unit',
            encoder=dict(type='PatchKMeansEncoder', patch_size=8, num_tokens=7),
        ),
        use_mim=use_mim,
    )
    with DefaultScope.overwrite_default_scope('mcf_mm'):
        model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        ds = DataSample()
        tokens = torch.zeros(8, dtype=torch.long)
        tokens[:4] = torch.tensor([49406, 100 + i, 200 + i, 49407])
        ds.set_field(tokens, 'text_tokens')
        ds.set_mask(torch.rand(4, 4, generator=g) < 0.4)
        out.append(ds)
    return out


def test_losses_match_parts(tmp_path):
    torch.manual_seed(0)
    model = tiny_farl(tmp_path)
    img = torch.randn(3, 3, 32, 32)
    data = samples()
    losses = model.loss(img, data)
    assert set(losses) == {'loss_itc', 'loss_mim', 'mim_acc', 'logit_scale'}
    mask = torch.stack([d.mask for d in data]).flatten(1)  # [N, L]
    tokens = torch.stack([d.text_tokens for d in data])
    with torch.no_grad():
        clean = model.encode_tokens(img)  # the doubled batch's clean half equals a separate clean pass
        itc = model.itc_loss(model.visual_proj(clean[:, 0]), model.text_encoder(tokens))
        masked = model.encode_tokens(img, mask)
        mim = model.head.loss(masked, model.target_generator(img), mask)['loss']
    torch.testing.assert_close(losses['loss_itc'].detach(), itc, atol=1e-5, rtol=0)
    torch.testing.assert_close(losses['loss_mim'].detach(), mim, atol=1e-5, rtol=0)
    (losses['loss_itc'] + losses['loss_mim']).backward()
    for name in (
        'mask_token',
        'visual_proj.weight',
        'itc_loss.logit_scale',
        'text_encoder.token_embedding.weight',
        'head.classifier.weight',
        'backbone.cls_token',
    ):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_masked_patches_see_only_the_mask_token(tmp_path):
    model = tiny_farl(tmp_path)
    a, b = torch.randn(1, 3, 32, 32), torch.randn(1, 3, 32, 32)
    full = torch.ones(1, 16)
    with torch.no_grad():  # every patch masked: the image no longer matters
        torch.testing.assert_close(model.encode_tokens(a, full), model.encode_tokens(b, full))
        assert not torch.allclose(model.encode_tokens(a), model.encode_tokens(b))


def test_contrast_only_and_missing_keys(tmp_path):
    model = tiny_farl(tmp_path, use_mim=False)
    # contrast only: neither the tokenizer nor the MIM head is built, so none of their tensors is trained or saved
    assert getattr(model, 'target_generator', None) is None and getattr(model, 'head', None) is None
    assert not any(k.startswith(('head.', 'target_generator.')) for k in model.state_dict())
    losses = model.loss(torch.randn(2, 3, 32, 32), samples(2))
    assert set(losses) == {'loss_itc', 'logit_scale'}
    bad = samples(2)
    for d in bad:
        del d.text_tokens
    with pytest.raises(KeyError, match='TokenizeText'):
        model.loss(torch.randn(2, 3, 32, 32), bad)
