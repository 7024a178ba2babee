"""MCF built from configs/mcf/pretrain.py (tiny override) trains on the CPU with exact EMA semantics."""
import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

import mcf_mm  # noqa: F401
from mcf_mm.registry import DATASETS, MODELS


def build(config_path: str):
    cfg = Config.fromfile(config_path)
    init_default_scope('mcf_mm')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batch = default_collate([dataset[i] for i in range(4)])
    return cfg, model, optim, batch


def snapshot(module: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_one_step_updates_online_freezes_teacher_and_follows_ema(tiny_config):
    cfg, model, optim, batch = build(tiny_config(ema_update='step', accum=1))
    assert cfg.model.head.norm_dim == 'token' and cfg.model.symmetric is False  # faithful recipe switches
    teacher0 = snapshot(model.target_generator.vit)
    online0 = [p.detach().clone() for p in model.backbone.parameters()]
    target0 = [p.detach().clone() for p in model.target['backbone'].parameters()]
    assert all(torch.equal(a, b) for a, b in zip(online0, target0))  # target starts as a copy

    log = model.train_step(batch, optim)
    assert set(log) >= {'loss', 'loss_mim', 'loss_contrast'}
    online1 = [p.detach().clone() for p in model.backbone.parameters()]
    changed = [not torch.equal(a, b) for a, b, p in zip(online0, online1, model.backbone.parameters())
               if p.requires_grad]
    assert all(changed), 'every trainable online tensor must change after one step'
    assert all(torch.equal(v, model.target_generator.vit.state_dict()[k]) for k, v in teacher0.items())

    model.train_step(batch, optim)  # the EMA update lands before this step's keys are computed
    m = model.momentum
    for t0, o1, t2 in zip(target0, online1, model.target['backbone'].parameters()):
        assert torch.allclose(t2, m * t0 + (1 - m) * o1, rtol=0, atol=1e-7)
    assert all(torch.equal(v, model.target_generator.vit.state_dict()[k]) for k, v in teacher0.items())


def count_updates(model) -> list:
    calls = []
    original = model.momentum_update

    def counted():
        calls.append(int(model.forward_count))
        original()
    model.momentum_update = counted
    return calls


@pytest.mark.parametrize('mode,expected', [('step', [2, 4]), ('micro_step', [1, 2, 3, 4, 5])])
def test_ema_per_optimiser_step_or_per_micro_step(tiny_config, mode, expected):
    _, model, optim, batch = build(tiny_config(ema_update=mode, accum=2))
    calls = count_updates(model)
    for _ in range(6):
        model.train_step(batch, optim)
    assert calls == expected  # forward counts at which the target moved


def test_teacher_has_no_optimiser_state_and_is_not_checkpointed(tiny_config):
    _, model, optim, batch = build(tiny_config())
    model.train_step(batch, optim)
    teacher_ids = {id(p) for p in model.target_generator.parameters()}
    assert not any(id(p) in teacher_ids for p in optim.optimizer.state)
    assert not any(p.requires_grad for p in model.target_generator.parameters())
    sd = model.state_dict()
    assert not any(k.startswith('target_generator.') for k in sd)
    assert any(k.startswith('target.backbone.') for k in sd) and 'forward_count' in sd
    # loading a checkpoint without teacher tensors reports nothing missing and keeps the teacher
    teacher = snapshot(model.target_generator.vit)
    result = model.load_state_dict(copy.deepcopy(sd), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert all(torch.equal(v, model.target_generator.vit.state_dict()[k]) for k, v in teacher.items())


def test_symmetric_switch_adds_the_reverse_direction(tiny_config):
    _, model, _, batch = build(tiny_config())
    data = model.data_preprocessor(batch, True)
    torch.manual_seed(1)
    one = model.loss(data['inputs'], data['data_samples'])['loss_contrast']
    model.symmetric = True
    torch.manual_seed(1)
    two = model.loss(data['inputs'], data['data_samples'])['loss_contrast']
    assert two > one  # a second InfoNCE term (each is positive) is added
