"""The alignment reproduction configs follow FaRL's schedule: lr x0.1 from epoch 200 (0-based); the CPU
configs keep a constant lr. The schedulers are built by mmengine from the configs and stepped per epoch."""

import os.path as osp
from typing import List

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS

import mcf_mm  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG_DIR = osp.join(REPO, 'configs', 'face_alignment')
REPRODUCTION = [
    ('vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-150e_aflw19-512px.py', 150),
    ('vit-base-p16_farl-16e-pre_uper-heatmap_8xb5-150e_aflw19-512px.py', 150),
    ('vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-150e_wflw-512px.py', 150),
    ('vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-250e_300w-512px.py', 250),
]


class _Net(torch.nn.Module):
    """A stand-in with a backbone and a head, so the config's lr_mult applies as in the real model."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = torch.nn.Linear(2, 2)
        self.head = torch.nn.Linear(2, 2)


def _lrs_per_epoch(cfg: Config, epochs: int) -> List[List[float]]:
    """The lr of every param group at the start of each epoch, as mmengine's ParamSchedulerHook sets them."""
    wrapper = build_optim_wrapper(_Net(), cfg.optim_wrapper)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper.optimizer)) for s in cfg.param_scheduler]
    lrs = []
    for _ in range(epochs):
        lrs.append([g['lr'] for g in wrapper.optimizer.param_groups])
        for s in schedulers:  # the hook steps by-epoch schedulers after each training epoch
            s.step()
    return lrs


@pytest.mark.parametrize('name,epochs', REPRODUCTION)
def test_reproduction_schedule_is_farl_x01_at_epoch_200(name, epochs):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    assert cfg.train_cfg.max_epochs == epochs
    lrs = _lrs_per_epoch(cfg, 260)
    for epoch, group_lrs in enumerate(lrs):  # one group per parameter (mmengine's paramwise groups)
        factor = 0.1 if epoch >= 200 else 1.0
        # backbone 1e-4, neck/head 1e-2 (FaRL's refine_backbone optimiser), times the step factor
        assert {round(lr / factor, 15) for lr in group_lrs} == {1e-4, 1e-2}, epoch


CPU = [
    'vit-demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py',
    'vit-demo-p4_mcf-demo-30e-pre_uper-heatmap_1xb8-20e_helen29-64px.py',
]


@pytest.mark.parametrize('name', CPU)
def test_cpu_configs_keep_a_constant_lr(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    assert list(cfg.param_scheduler) == []
    assert cfg.val_evaluator.get('auc_grid', 'closed') == 'closed'  # the README's CPU numbers use 0 .. t
