"""Under DDP, MCF's ema_update='step' catch-up runs: mmengine's DDP train step skips the module's train_step."""

import os

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODEL_WRAPPERS

import mcf_mm  # noqa: F401
from mcf_fixtures.dist import free_port
from mcf_fixtures.tiny import build_tiny_mcf
from mcf_mm.engine import PreStepDistributedDataParallel


@pytest.fixture()
def one_process_group():
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(free_port()))
    dist.init_process_group('gloo', rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def two_steps(config: str, wrapper_type):
    """Target before, online after step 1, target after step 2 (the step-2 catch-up) of a DDP-wrapped tiny MCF."""
    cfg, model, batch = build_tiny_mcf(config)
    ddp = wrapper_type(module=model, device_ids=None, broadcast_buffers=False)
    optim = build_optim_wrapper(ddp, cfg.optim_wrapper)
    target0 = [p.detach().clone() for p in model.target['backbone'].parameters()]
    ddp.train_step(batch, optim)
    online1 = [p.detach().clone() for p in model.backbone.parameters()]
    ddp.train_step(batch, optim)
    return model.momentum, target0, online1, list(model.target['backbone'].parameters())


def test_step_ema_runs_under_the_pre_step_ddp(tiny_config, one_process_group):
    m, target0, online1, target2 = two_steps(tiny_config(ema_update='step', accum=1), PreStepDistributedDataParallel)
    for t0, o1, t2 in zip(target0, online1, target2):
        assert torch.allclose(t2, m * t0 + (1 - m) * o1, rtol=0, atol=1e-7)


def test_mmengines_ddp_alone_would_skip_it(tiny_config, one_process_group):
    """The control: with mmengine's wrapper the target never moves (why the pre-training runtime sets ours)."""
    _, target0, online1, target2 = two_steps(tiny_config(ema_update='step', accum=1), MMDistributedDataParallel)
    assert all(torch.equal(t0, t2) for t0, t2 in zip(target0, target2))
    assert not all(torch.equal(t0, o1) for t0, o1 in zip(target0, online1))


def test_the_pre_training_runtime_selects_it(repo_root):
    cfg = Config.fromfile(os.path.join(repo_root, 'configs', 'mcf', 'pretrain.py'))
    assert MODEL_WRAPPERS.get(cfg.model_wrapper_cfg.type) is PreStepDistributedDataParallel
    assert cfg.model_wrapper_cfg.broadcast_buffers is False
