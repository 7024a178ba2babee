"""Downstream configs normalise input as their initialisation expects: FaRL-initialised ones (the official FaRL
release, CLIP's image tower) with CLIP's mean/std and CLIP's ViT settings, MCF-initialised ones with ImageNet's;
the FaRL settings are the same as the shared CLIP base's, and a CLIP-format (FaRL release) checkpoint loads
into the FaRL configs' backbone. Training one step: the task config tests."""

import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mcf_mm.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CLIP_MEAN = [0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255]  # CLIP's published RGB statistics
CLIP_STD = [0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255]
IMAGENET_MEAN, IMAGENET_STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'face_alignment', 'vit-base-p16_*.py'))
    + glob.glob(osp.join(REPO, 'configs', 'face_parsing', 'vit-base-p16_*.py'))
)
FARL = [p for p in CONFIGS if '_farl-' in osp.basename(p)]
MCF = [p for p in CONFIGS if '_mcf-' in osp.basename(p)]


def test_farl_variants_exist_for_aflw19_and_lapa():
    names = {osp.basename(p) for p in FARL}
    assert 'vit-base-p16_farl-16e-pre_uper-heatmap_8xb5-150e_aflw19-512px.py' in names
    assert 'vit-base-p16_farl-16e-pre_uperhead_8xb5-300e_lapa-512px.py' in names
    assert len(FARL) + len(MCF) == len(CONFIGS)


@pytest.mark.parametrize('path', FARL, ids=osp.basename)
def test_farl_initialised_configs_use_clip_normalisation_and_settings(path):
    cfg = Config.fromfile(path)
    pre, bb = cfg.model.data_preprocessor, cfg.model.backbone
    assert pre.mean == pytest.approx(CLIP_MEAN) and pre.std == pytest.approx(CLIP_STD)
    assert pre.bgr_to_rgb is True  # images are read BGR; CLIP's statistics are RGB
    assert 'FaRL' in bb.init_cfg.checkpoint
    clip = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models', 'clip_vit.py'))
    assert (pre.mean, pre.std) == (clip.clip_mean, clip.clip_std)
    for key, value in clip.model.backbone.items():  # pre-norm, learned pos. embedding, LN 1e-5, ...
        assert bb[key] == value, key


@pytest.mark.parametrize('path', MCF, ids=osp.basename)
def test_mcf_initialised_configs_keep_imagenet_normalisation(path):
    cfg = Config.fromfile(path)
    pre, bb = cfg.model.data_preprocessor, cfg.model.backbone
    assert pre.mean == pytest.approx(IMAGENET_MEAN) and pre.std == pytest.approx(IMAGENET_STD)
    assert pre.bgr_to_rgb is True and 'mcf' in bb.init_cfg.checkpoint
    assert not bb.get('pre_norm', False)


def _clip_visual_state_dict(dims: int, layers: int, grid: int, patch: int) -> dict:
    """A random CLIP ViT image tower in CLIP's own names (``visual.*``), as in the FaRL release."""
    g = torch.Generator().manual_seed(0)

    def r(*shape):
        return torch.randn(*shape, generator=g)

    sd = {
        'visual.conv1.weight': r(dims, 3, patch, patch),  # no bias in CLIP
        'visual.class_embedding': r(dims),
        'visual.positional_embedding': r(grid * grid + 1, dims),
        'visual.ln_pre.weight': r(dims),
        'visual.ln_pre.bias': r(dims),
        'visual.ln_post.weight': r(dims),
        'visual.ln_post.bias': r(dims),
        'visual.proj': r(dims, 8),
    }
    for i in range(layers):
        p = f'visual.transformer.resblocks.{i}.'
        sd.update(
            {
                p + 'ln_1.weight': r(dims),
                p + 'ln_1.bias': r(dims),
                p + 'attn.in_proj_weight': r(3 * dims, dims),
                p + 'attn.in_proj_bias': r(3 * dims),
                p + 'attn.out_proj.weight': r(dims, dims),
                p + 'attn.out_proj.bias': r(dims),
                p + 'ln_2.weight': r(dims),
                p + 'ln_2.bias': r(dims),
                p + 'mlp.c_fc.weight': r(4 * dims, dims),
                p + 'mlp.c_fc.bias': r(4 * dims),
                p + 'mlp.c_proj.weight': r(dims, 4 * dims),
                p + 'mlp.c_proj.bias': r(dims),
            }
        )
    return sd


@pytest.mark.parametrize('path', FARL, ids=osp.basename)
def test_farl_checkpoint_loads_into_the_farl_config_backbone(path, tmp_path):
    cfg = Config.fromfile(path)
    bb = cfg.model.backbone
    dims, layers = 32, 2
    ckpt = str(tmp_path / 'farl_tiny.pth')
    sd = _clip_visual_state_dict(dims, layers, grid=14, patch=16)  # a 224-px release
    torch.save({'state_dict': sd}, ckpt)
    bb.update(
        arch=dict(embed_dims=dims, num_layers=layers, num_heads=2, feedforward_channels=4 * dims),
        out_indices=(0, 1),
        init_cfg=dict(bb.init_cfg, checkpoint=ckpt),
    )
    model = MODELS.build(bb)
    model.init_weights()
    p = 'visual.transformer.resblocks.1.'
    torch.testing.assert_close(model.patch_embed.projection.weight, sd['visual.conv1.weight'])
    torch.testing.assert_close(model.pre_norm.weight, sd['visual.ln_pre.weight'])
    torch.testing.assert_close(model.layers[1].attn.qkv.weight, sd[p + 'attn.in_proj_weight'])
    torch.testing.assert_close(model.layers[1].ffn.layers[1].weight, sd[p + 'mlp.c_proj.weight'])
    torch.testing.assert_close(model.cls_token.reshape(-1), sd['visual.class_embedding'])
    assert model.pos_embed.shape == (1, 28 * 28 + 1, dims) and model.pos_embed.requires_grad  # resized, trained
    assert model.patch_embed.projection.bias is None
    x = torch.randn(1, 3, 512, 512)  # [N, 3, 512, 512], resized to 448 inside
    assert [tuple(f.shape) for f in model(x)] == [(1, dims, 28, 28)] * 2
