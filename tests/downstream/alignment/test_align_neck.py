"""The alignment neck is mmseg's Feature2Pyramid, built cross-scope from mmpose configs: its levels against
their definition, and the parameter names trained alignment checkpoints carry."""

import pytest
import torch
import torch.nn.functional as F
from mmengine.registry import DefaultScope

import mcf_mm.downstream.alignment  # noqa: F401  (imports mmseg's models, which registers the neck)


def _build(norm_cfg: dict, **kwargs):
    from mmpose.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmpose'):
        return MODELS.build(dict(type='mmseg.Feature2Pyramid', embed_dim=8, norm_cfg=norm_cfg, **kwargs))


def test_levels_match_their_definition():
    torch.manual_seed(0)
    neck = _build(dict(type='BN'), rescales=(4, 2, 1, 0.5)).eval()
    assert type(neck).__module__.startswith('mmseg.')
    with torch.no_grad():
        for p in neck.parameters():
            p.normal_()
        bn = neck.upsample_4x[1]
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
    x = [torch.randn(2, 8, 5, 6) for _ in range(4)]  # [N, D, h, w] from four ViT blocks
    out = neck(x)
    c1, c2, c3 = neck.upsample_4x[0], neck.upsample_4x[3], neck.upsample_2x[0]
    y = F.conv_transpose2d(x[0], c1.weight, c1.bias, stride=2)
    y = (y - bn.running_mean[:, None, None]) / torch.sqrt(bn.running_var[:, None, None] + bn.eps)
    y = F.gelu(y * bn.weight[:, None, None] + bn.bias[:, None, None])
    expected = [
        F.conv_transpose2d(y, c2.weight, c2.bias, stride=2),  # [N, D, 4h, 4w]
        F.conv_transpose2d(x[1], c3.weight, c3.bias, stride=2),  # [N, D, 2h, 2w]
        x[2],  # [N, D, h, w]
        F.max_pool2d(x[3], 2),
    ]  # [N, D, h/2, w/2]
    for got, want in zip(out, expected):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert [tuple(t.shape[-2:]) for t in out] == [(20, 24), (10, 12), (5, 6), (2, 3)]


def test_parameter_names_of_trained_checkpoints_load():
    names = set(_build(dict(type='SyncBN', requires_grad=True)).state_dict())
    # the names the former FacePyramidNeck (a subclass) saved under ``neck.``
    assert names == {
        'upsample_4x.0.weight',
        'upsample_4x.0.bias',
        'upsample_4x.1.weight',
        'upsample_4x.1.bias',
        'upsample_4x.1.running_mean',
        'upsample_4x.1.running_var',
        'upsample_4x.1.num_batches_tracked',
        'upsample_4x.3.weight',
        'upsample_4x.3.bias',
        'upsample_2x.0.weight',
        'upsample_2x.0.bias',
    }


def test_only_the_four_level_layouts_exist():
    # mmseg indexes its ops by position: a subset of rescales builds but cannot run (why configs keep 4 levels)
    neck = _build(dict(type='BN'), rescales=(4, 0.5))
    with pytest.raises(AttributeError, match='upsample_2x'):
        neck([torch.randn(1, 8, 4, 4)] * 2)
