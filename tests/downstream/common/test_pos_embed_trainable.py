"""Item: the ViT-B/16 downstream reproduction configs train the position embedding, as FaRL's fine-tuning
does (``nn.Parameter`` of the resized table); the CPU configs and the pre-training configs state theirs."""

import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mcf_mm  # noqa: F401
from mcf_fixtures.tiny import TINY_ARCH
from mcf_mm.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
VIT_B = sorted(
    glob.glob(osp.join(REPO, 'configs', 'face_alignment', 'vit-base-p16_*.py'))
    + glob.glob(osp.join(REPO, 'configs', 'face_parsing', 'vit-base-p16_*.py'))
)
CPU = sorted(
    glob.glob(osp.join(REPO, 'configs', 'face_alignment', 'vit-demo-p4_*.py'))
    + glob.glob(osp.join(REPO, 'configs', 'face_parsing', 'vit-demo-p4_*.py'))
)


def _tiny_backbone(path: str) -> torch.nn.Module:
    """The config's backbone as written, shrunk to a 2-layer 32-dim ViT on 32-px input, randomly initialised."""
    cfg = Config.fromfile(path).model.backbone
    cfg.update(arch=TINY_ARCH, img_size=32, patch_size=8, resize_input=32, out_indices=(0, 1), init_cfg=None)
    vit = MODELS.build(cfg)
    vit.init_weights()
    return vit


def test_the_config_lists_are_not_empty():
    assert len(VIT_B) >= 6 and len(CPU) >= 4


@pytest.mark.parametrize('path', VIT_B, ids=osp.basename)
def test_reproduction_configs_train_the_position_embedding(path):
    assert Config.fromfile(path).model.backbone.fixed_pos_embed is False
    vit = _tiny_backbone(path)
    assert vit.pos_embed.requires_grad
    x = torch.randn(2, 3, 32, 32)  # [B, C, H, W]
    sum(o.square().sum() for o in vit(x)).backward()
    assert vit.pos_embed.grad is not None and vit.pos_embed.grad.abs().sum() > 0


@pytest.mark.parametrize('path', CPU, ids=osp.basename)
def test_cpu_configs_state_their_fixed_table(path):
    """The CPU results in the READMEs were measured with the fixed sin-cos table: the configs say so."""
    assert Config.fromfile(path).model.backbone.fixed_pos_embed is True
    assert not _tiny_backbone(path).pos_embed.requires_grad


@pytest.mark.parametrize('name', ['mcf_vit-base-p16.py', 'mcf_vit-demo-p4.py'])
def test_pretraining_bases_state_the_fixed_table(name):
    assert Config.fromfile(osp.join(REPO, 'configs', '_base_', 'models', name)).model.backbone.fixed_pos_embed is True
