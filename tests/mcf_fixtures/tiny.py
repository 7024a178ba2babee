"""Tiny, shared test material: a 2-layer 32-dim ViT, a saved tiny teacher, real bundled face crops, tiny MCF configs."""

import os
import os.path as osp

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_tiny_mcf():
    """tools/analysis_tools/_tiny_mcf.py, by path (tools/ is not a package): the tiny MCF's config text."""
    import importlib.util

    path = osp.join(REPO, 'tools', 'analysis_tools', '_tiny_mcf.py')
    spec = importlib.util.spec_from_file_location('_tiny_mcf', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_tiny_mcf = _load_tiny_mcf()
TINY_ARCH, tiny_mcf_model = _tiny_mcf.TINY_ARCH, _tiny_mcf.tiny_mcf_model


def save_tiny_teacher(path: str, seed: int = 0) -> str:
    """Write a random tiny FaceViT as an mmpretrain-format checkpoint (keys `backbone.*`)."""
    import torch

    import mcf_mm  # noqa: F401
    from mcf_mm.models.backbones import FaceViT

    torch.manual_seed(seed)
    vit = FaceViT(arch=TINY_ARCH, img_size=32, patch_size=8)
    vit.init_weights()
    torch.save({'state_dict': {'backbone.' + k: v for k, v in vit.state_dict().items()}}, path)
    return path


def write_faces(folder: str, n: int = 12) -> list:
    """Write n real face crops from scikit-image's bundled LFW subset as PNG/JPEG files."""
    import cv2
    import numpy as np
    from skimage import data as skdata

    os.makedirs(folder, exist_ok=True)
    faces = skdata.lfw_subset()[:n]
    paths = []
    for i, f in enumerate(faces):
        img = cv2.resize((f * 255).round().astype(np.uint8), (40, 40))
        img = np.repeat(img[..., None], 3, axis=2)
        p = osp.join(folder, f'face_{i:03d}.{"png" if i % 2 else "jpg"}')
        cv2.imwrite(p, img)
        paths.append(p)
    return paths


def tiny_overrides(
    teacher: str, data_root: str, max_epochs: int = 1, accum: int = 1, ema_update: str = 'step', extra: str = ''
) -> str:
    """Python text of a config inheriting the paper's recipe with a tiny architecture and CPU settings."""
    return f"""
_base_ = [{osp.join(REPO, 'configs', 'mcf', 'pretrain.py')!r}]
{tiny_mcf_model(teacher, f'ema_update={ema_update!r}, accumulative_counts={accum}')}
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, pin_memory=False,
                        dataset=dict(data_root={data_root!r}, pipeline=train_pipeline))
optim_wrapper = dict(_delete_=True, type='OptimWrapper', accumulative_counts={accum},
                     optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
                     paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0))
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True, begin=0, end={max_epochs})]
train_cfg = dict(max_epochs={max_epochs})
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1, max_keep_ckpts=-1))
randomness = dict(seed=0, deterministic=True)
env_cfg = dict(mp_cfg=dict(mp_start_method='fork'))
{extra}
"""


def build_tiny_mcf(config_path: str, num_images: int = 4):
    """(cfg, model, batch) of a tiny MCF config: model built with seed 0 and initialised, a collated batch of
    the config's first ``num_images`` training samples."""
    import torch
    from mmengine.config import Config
    from mmengine.dataset import default_collate
    from mmengine.registry import init_default_scope

    from mcf_mm.registry import DATASETS, MODELS

    cfg = Config.fromfile(config_path)
    init_default_scope('mcf_mm')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return cfg, model, default_collate([dataset[i] for i in range(num_images)])
