"""The EMA the downstream configs build (mmengine's EMAHook) against the EMA formula written here: FaRL's
averages the float buffers (BN running statistics) with the parameters, which the reproduction configs
select (update_buffers=True); the CPU parsing configs keep mmengine's default (buffers copied live)."""

import os.path as osp
from types import SimpleNamespace
from typing import Dict

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import HOOKS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
PARSING = osp.join(REPO, 'configs', 'face_parsing')
ALIGNMENT = osp.join(REPO, 'configs', 'face_alignment')
REPRODUCTION = [
    osp.join(PARSING, 'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_lapa-512px.py'),
    osp.join(PARSING, 'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_celebamask-hq-512px.py'),
    osp.join(PARSING, 'vit-base-p16_farl-16e-pre_uperhead_8xb5-300e_lapa-512px.py'),
    osp.join(ALIGNMENT, 'vit-base-p16_farl-16e-pre_uper-heatmap_8xb5-150e_aflw19-512px.py'),
    osp.join(ALIGNMENT, 'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-150e_aflw19-512px.py'),
    osp.join(ALIGNMENT, 'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-250e_300w-512px.py'),
    osp.join(ALIGNMENT, 'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-150e_wflw-512px.py'),
]
CPU_PARSING = [
    osp.join(PARSING, 'vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py'),
    osp.join(PARSING, 'vit-demo-p4_mcf-demo-30e-pre_uperhead_1xb4-20e_fasseg-v2-128px.py'),
    osp.join(PARSING, 'vit-demo-p4_uperhead_1xb4-20e_fasseg-v3pose-test-128px.py'),
]


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 4 * 4, 2))


def _run_ema(cfg_path: str, steps: int = 6):
    """Train-mode steps (BN statistics move, parameters are perturbed as by an optimiser) with the config's EMA
    hook; returns the hook's EMA state, the live model's state and the EMA computed here by the formula."""
    hook_cfg = [h for h in Config.fromfile(cfg_path).custom_hooks if h.type == 'EMAHook'][0]
    net = _net()
    runner = SimpleNamespace(model=net, iter=0, epoch=0, max_epochs=1, max_iters=steps)
    hook = HOOKS.build({k: v for k, v in hook_cfg.items() if k != 'priority'})  # the Runner takes priority
    hook.before_run(runner)
    momentum = float(hook_cfg.momentum)
    ref: Dict[str, torch.Tensor] = {}
    gen = torch.Generator().manual_seed(1)
    for step in range(steps):
        net.train()
        net(torch.randn(8, 3, 6, 6, generator=gen) * 3 + step)  # [8, 2]; updates the BN running statistics
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn(p.shape, generator=gen) * 0.1)
        runner.iter = step
        hook.after_train_iter(runner, step)
        src = {k: v.detach().double() for k, v in net.state_dict().items() if v.dtype.is_floating_point}
        if step == 0:  # the first update copies the model
            ref = {k: v.clone() for k, v in src.items()}
        else:  # ema <- (1 - m) * ema + m * model, i.e. decay 1 - m
            ref = {k: (1 - momentum) * ref[k] + momentum * src[k] for k in src}
    ema = {k: v.double() for k, v in hook.ema_model.module.state_dict().items() if v.dtype.is_floating_point}
    live = {k: v.double() for k, v in net.state_dict().items() if v.dtype.is_floating_point}
    return hook_cfg, ema, live, ref


BUFFERS = ('1.running_mean', '1.running_var')


@pytest.mark.parametrize('path', REPRODUCTION, ids=osp.basename)
def test_reproduction_ema_averages_bn_buffers_by_the_formula(path):
    hook_cfg, ema, live, ref = _run_ema(path)
    assert hook_cfg.update_buffers is True and hook_cfg.momentum == pytest.approx(0.001)  # decay 0.999
    for k in ref:  # parameters and float buffers alike
        torch.testing.assert_close(ema[k], ref[k], atol=1e-6, rtol=1e-6)
    for k in BUFFERS:  # and the averaged statistics are not the live ones
        assert (ema[k] - live[k]).abs().max() > 1e-2


@pytest.mark.parametrize('path', CPU_PARSING, ids=osp.basename)
def test_cpu_parsing_ema_keeps_live_buffers(path):
    hook_cfg, ema, live, ref = _run_ema(path)
    assert not hook_cfg.get('update_buffers', False)
    for k in BUFFERS:  # mmengine's default: buffers copied from the model, parameters averaged
        torch.testing.assert_close(ema[k], live[k])
    torch.testing.assert_close(ema['0.weight'], ref['0.weight'], atol=1e-6, rtol=1e-6)
