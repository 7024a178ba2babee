"""MCF's teacher_batch='concat' (one teacher forward of real + pseudo) gives the two-pass losses and gradients."""

import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mcf_mm  # noqa: F401
from mcf_fixtures.tiny import build_tiny_mcf
from mcf_mm.registry import MODELS


def build(config_path: str):
    _, model, batch = build_tiny_mcf(config_path)
    return model, batch


def losses_and_grads(model, batch, teacher_batch: str):
    """One forward+backward in ``teacher_batch`` mode with a fixed seed (same masks for every mode)."""
    model.teacher_batch = teacher_batch
    model.zero_grad(set_to_none=True)
    data = model.data_preprocessor(batch, training=True)
    torch.manual_seed(1)
    losses = model.loss(**data)
    sum(losses.values()).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return {k: v.detach() for k, v in losses.items()}, grads


def test_concat_equals_two_passes(tiny_config):
    model, batch = build(tiny_config())
    two = copy.deepcopy(model)
    l_two, g_two = losses_and_grads(two, batch, 'separate')
    l_one, g_one = losses_and_grads(model, batch, 'concat')
    assert set(l_one) == set(l_two) == {'loss_mim', 'loss_contrast'}
    for k in l_two:
        assert torch.allclose(l_one[k], l_two[k], rtol=1e-5, atol=1e-6), k
    assert set(g_one) == set(g_two)
    assert any(n.startswith('neck.') for n in g_two)  # the decoder is trained through the teacher
    assert not any(n.startswith(('target_generator.', 'target.')) for n in g_one)  # frozen parts stay gradient-free
    for n in g_two:
        assert torch.allclose(g_one[n], g_two[n], rtol=1e-4, atol=1e-6), n


def test_concat_features_match_separate_teacher_calls(tiny_config):
    """The batched call's halves equal the teacher run on each image alone; the real half carries no graph."""
    model, batch = build(tiny_config())
    model.teacher_batch = 'concat'
    img = model.data_preprocessor(batch, training=True)['inputs']  # [N, 3, H, W]
    pseudo = (img.flip(0) * 0.5).requires_grad_(True)
    real_feats, pseudo_feats = model._teacher_feats(img, pseudo)
    with torch.no_grad():
        want_real = model.target_generator(img)
    want_pseudo = model.target_generator(pseudo)
    assert len(real_feats) == len(want_real) == len(model.target_generator.out_indices)
    for got, want in zip(real_feats, want_real):
        assert not got.requires_grad and torch.allclose(got, want, rtol=1e-5, atol=1e-6)
    for got, want in zip(pseudo_feats, want_pseudo):
        assert got.requires_grad and torch.allclose(got, want, rtol=1e-5, atol=1e-6)


def test_bad_teacher_batch_is_refused(tiny_config):
    cfg = Config.fromfile(tiny_config())
    init_default_scope('mcf_mm')
    cfg.model.teacher_batch = 'stacked'
    with pytest.raises(ValueError, match="teacher_batch='stacked'.*'separate', 'concat'"):
        MODELS.build(cfg.model)


def test_concat_under_cpu_bf16_autocast(tiny_config):
    """Under autocast the decoder's pseudo image may be bf16 and the real image fp32: both still stack."""
    model, batch = build(tiny_config())
    two = copy.deepcopy(model)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        l_two, _ = losses_and_grads(two, batch, 'separate')
        l_one, g_one = losses_and_grads(model, batch, 'concat')
    assert g_one and all(torch.isfinite(g).all() for g in g_one.values())
    for k in l_two:
        assert torch.allclose(l_one[k].float(), l_two[k].float(), rtol=2e-2, atol=1e-3), (k, l_one[k], l_two[k])
