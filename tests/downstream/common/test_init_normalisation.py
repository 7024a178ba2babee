"""Downstream configs normalise input as their initialisation expects: FaRL-initialised ones (the official FaRL
release, CLIP's image tower) with CLIP's mean/std and CLIP's ViT settings, MCF-initialised ones with ImageNet's;
the FaRL settings are the same as the shared CLIP base's. Building and training: the task config tests."""

import glob
import os.path as osp

import pytest
from mmengine.config import Config

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
