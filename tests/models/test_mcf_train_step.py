"""MCF built from configs/mcf/pretrain.py (tiny override) trains on the CPU with exact EMA semantics."""

import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

import mcf_mm  # noqa: F401
from mcf_fixtures.tiny import build_tiny_mcf


def build(config_path: str):
    cfg, model, batch = build_tiny_mcf(config_path)
    return cfg, model, build_optim_wrapper(model, cfg.optim_wrapper), batch


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
    changed = [
        not torch.equal(a, b) for a, b, p in zip(online0, online1, model.backbone.parameters()) if p.requires_grad
    ]
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


def count_steps(model, optim) -> list:
    """Forward counts at which the optimiser really stepped."""
    steps, original = [], optim.optimizer.step

    def counted(*args, **kwargs):
        steps.append(int(model.forward_count))
        return original(*args, **kwargs)

    optim.optimizer.step = counted
    return steps


def test_step_ema_follows_the_optim_wrappers_accumulation(tiny_config):
    """`--cfg-options optim_wrapper.accumulative_counts=4` alone: the EMA follows the wrapper's real steps."""
    cfg = Config.fromfile(tiny_config(ema_update='step', accum=1))
    cfg.model.pop('accumulative_counts')  # the model no longer needs its own copy
    cfg.optim_wrapper.accumulative_counts = 4
    path = cfg.filename.replace('.py', '_accum4.py')
    cfg.dump(path)
    _, model, optim, batch = build(path)
    assert model.accumulative_counts is None
    calls = count_updates(model)
    steps = count_steps(model, optim)
    for _ in range(10):
        model.train_step(batch, optim)
    assert steps == [4, 8]  # the wrapper stepped after forwards 4 and 8
    assert calls == [4, 8]  # the target moved once after each, before the next forward's keys


def test_accumulation_mismatch_is_refused_at_the_first_step(tiny_config):
    cfg = Config.fromfile(tiny_config(ema_update='step', accum=1))  # model.accumulative_counts=1
    cfg.optim_wrapper.accumulative_counts = 4  # as --cfg-options would change it
    path = cfg.filename.replace('.py', '_mismatch.py')
    cfg.dump(path)
    _, model, optim, batch = build(path)
    before = snapshot(model)
    with pytest.raises(
        ValueError,
        match=r'model.accumulative_counts=1 but optim_wrapper.accumulative_counts=4.*'
        r'Remove model.accumulative_counts',
    ):
        model.train_step(batch, optim)
    assert int(model.forward_count) == 0  # refused before any forward or update
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_step_ema_resumes_on_schedule(tiny_config):
    """After a resume the loop restores the wrapper's count from the iteration: the EMA stays on schedule."""
    _, full, optim, batch = build(tiny_config(ema_update='step', accum=2))
    calls_full = count_updates(full)
    for _ in range(5):
        full.train_step(batch, optim)
    _, resumed, optim2, _ = build(tiny_config(name='b.py', ema_update='step', accum=2))
    _, first, optim1, _ = build(tiny_config(name='c.py', ema_update='step', accum=2))
    for _ in range(2):
        first.train_step(batch, optim1)
    resumed.load_state_dict(first.state_dict())
    optim2.load_state_dict(optim1.state_dict())
    optim2.initialize_count_status(resumed, init_counts=2, max_counts=10)  # what the train loop does
    calls_resumed = count_updates(resumed)
    for _ in range(3):
        resumed.train_step(batch, optim2)
    assert calls_full == [2, 4] and calls_resumed == [2, 4]
    for a, b in zip(full.target.parameters(), resumed.target.parameters()):
        assert torch.allclose(a, b, rtol=0, atol=1e-6)


def test_mmengine_ema_differs_from_the_moco_v3_update(tiny_config):
    """Why MCF keeps its own 3-line EMA: mmengine's ExponentialMovingAverage copies the online model's
    buffers (BN running statistics) into the average, and lerp rounds differently; MoCo-v3/MCF leave the
    target's own statistics alone."""
    from mmengine.model import ExponentialMovingAverage

    _, model, optim, batch = build(tiny_config(ema_update='micro_step', accum=1))
    ema = ExponentialMovingAverage(model.projector, momentum=1 - model.momentum)
    ema.update_parameters(model.projector)  # its first call copies
    for _ in range(3):
        model.train_step(batch, optim)  # MCF: target moved twice, target BN saw the target's own inputs
    ema.module.load_state_dict(model.target['projector'].state_dict())
    ema.steps.fill_(1)
    before = {k: v.clone() for k, v in model.target['projector'].state_dict().items()}
    ema.update_parameters(model.projector)
    model.momentum_update()
    ours, theirs = model.target['projector'].state_dict(), ema.module.state_dict()
    for k in ours:
        if k.endswith(('running_mean', 'running_var')):
            assert torch.equal(ours[k], before[k])  # MCF: untouched by the EMA
            assert torch.equal(theirs[k], model.projector.state_dict()[k])  # mmengine: the online copy
            assert not torch.equal(ours[k], theirs[k])
        elif ours[k].is_floating_point():
            assert torch.allclose(ours[k], theirs[k], rtol=0, atol=1e-6)  # same formula up to rounding


def test_reads_checkpoints_with_the_former_projector_names(tiny_config):
    import re

    _, model, optim, batch = build(tiny_config())
    model.train_step(batch, optim)
    sd = model.state_dict()

    def former(key: str) -> str:  # fc{i} -> mlp.{3i}, bn{i} -> mlp.{3i+1}
        return re.sub(
            r'(projector|predictor)\.(fc|bn)(\d+)\.',
            lambda m: f'{m.group(1)}.mlp.{3 * int(m.group(3)) + (m.group(2) == "bn")}.',
            key,
        )

    old = {former(k): v.clone() for k, v in sd.items()}
    assert 'projector.mlp.4.running_var' in old and 'contrast_head.predictor.mlp.3.weight' in old
    _, fresh, _, _ = build(tiny_config(name='fresh.py'))
    result = fresh.load_state_dict(old, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert all(torch.equal(v, fresh.state_dict()[k]) for k, v in sd.items())


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


@pytest.mark.parametrize(
    'override,message',
    [
        (dict(mask_ratio=0.99), r'mask_ratio=0.99 keeps int\(16 \* \(1 - 0.99\)\) = 0 of 16 patches'),
        (dict(img_size=36), r'img_size=\(36, 36\) is not divisible by patch_size=8'),
    ],
)
def test_wrong_backbone_settings_fail_while_the_runner_is_built(tiny_config, tmp_path, override, message):
    from mmengine.runner import Runner

    cfg = Config.fromfile(tiny_config())
    cfg.model.backbone.update(override)
    cfg.work_dir = str(tmp_path / 'work')
    with pytest.raises(ValueError, match=message):
        Runner.from_cfg(cfg)  # Runner.__init__ builds the model: no iteration has run
