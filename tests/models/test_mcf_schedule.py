"""The recipe's lr schedule against the original's: MAE's adjust_learning_rate, called by the training loop at the
first micro-iteration of every accumulation window (windows restart with each epoch), warm-up from lr 0."""

import glob
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from mcf_mm.registry import PARAM_SCHEDULERS

RECIPE = 'configs/mcf/mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-224px.py'


def adjust_learning_rate(epoch: float, lr: float, warmup: float, epochs: float, min_lr: float = 0.0) -> float:
    """MAE's util/lr_sched.py, written out: linear warm-up, then half-cycle cosine."""
    if epoch < warmup:
        return lr * epoch / warmup
    return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup) / (epochs - warmup)))


def original_lrs(per_epoch: int, accum: int, epochs: int, lr: float, warmup: float) -> list:
    """The lr in force at every micro-iteration of the original's loop (engine_pretrain.train_one_epoch)."""
    seen, current = [], None
    for epoch in range(epochs):
        for data_iter_step in range(per_epoch):
            if data_iter_step % accum == 0:
                current = adjust_learning_rate(data_iter_step / per_epoch + epoch, lr, warmup, epochs)
            seen.append(current)
    return seen


def windowed(**kwargs) -> dict:
    """An epoch-based WindowedWarmupCosineLR config, converted to iterations by the runner."""
    return dict(type='WindowedWarmupCosineLR', by_epoch=True, convert_to_iter_based=True, **kwargs)


def build_sched(cfg: dict, optim, per_epoch: int):
    return PARAM_SCHEDULERS.build(dict(cfg), default_args=dict(optimizer=OptimWrapper(optim), epoch_length=per_epoch))


def scheduled_lrs(cfg_scheduler: dict, per_epoch: int, steps: int, lr: float, groups=(1.0,)) -> list:
    """Build the scheduler as mmengine's runner does (epoch_length given) and step it as ParamSchedulerHook does."""
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in groups]
    optim = torch.optim.SGD([dict(params=[p], lr=lr * g) for p, g in zip(params, groups)], lr=lr)
    sched = build_sched(cfg_scheduler, optim, per_epoch)
    seen = []
    for _ in range(steps):
        seen.append([g['lr'] for g in optim.param_groups])  # the lr the iteration's optimiser step uses
        optim.step()
        sched.step()
    return seen


def test_recipe_schedule_equals_the_originals_at_every_micro_iteration(repo_root):
    cfg = Config.fromfile(f'{repo_root}/{RECIPE}')
    (sched,) = cfg.param_scheduler
    accum, base, epochs = (
        cfg.optim_wrapper.accumulative_counts,
        cfg.optim_wrapper.optimizer.lr,
        cfg.train_cfg.max_epochs,
    )
    assert sched.window == accum == 8 and sched.epochs == epochs == 16 and sched.warmup_epochs == 1
    for per_epoch in (64, 61):  # 61: the last window of each epoch is short, and the next epoch restarts them
        want = original_lrs(per_epoch, accum, epochs, base, warmup=1)
        got = [g[0] for g in scheduled_lrs(sched, per_epoch, epochs * per_epoch, base)]
        assert len(got) == len(want)
        for i, (a, b) in enumerate(zip(got, want)):
            assert abs(a - b) <= 1e-12 * base, (per_epoch, i, a, b)
    assert got[0] == 0.0 and got[accum] > 0.0  # warm-up starts at exactly 0
    assert len(set(got[:accum])) == 1  # one value per window


def test_groups_keep_their_multipliers_and_window_one_is_per_iteration():
    cfg = dict(
        type='WindowedWarmupCosineLR', warmup_epochs=0.5, epochs=3, window=1, by_epoch=True, convert_to_iter_based=True
    )
    per_epoch, lr = 10, 0.1
    got = scheduled_lrs(cfg, per_epoch, 3 * per_epoch, lr, groups=(1.0, 0.25))
    for i, (a, b) in enumerate(got):
        want = adjust_learning_rate(i / per_epoch, lr, 0.5, 3)
        assert math.isclose(a, want, abs_tol=1e-15) and math.isclose(b, 0.25 * want, abs_tol=1e-15)


def test_resume_continues_the_same_schedule():
    cfg = dict(
        type='WindowedWarmupCosineLR', warmup_epochs=1, epochs=4, window=4, by_epoch=True, convert_to_iter_based=True
    )
    per_epoch, lr = 12, 0.5
    full = scheduled_lrs(cfg, per_epoch, 4 * per_epoch, lr)
    optim = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched = build_sched(cfg, optim, per_epoch)
    for _ in range(17):
        optim.step()
        sched.step()
    state, optim_state = sched.state_dict(), optim.state_dict()
    # the runner's order: build the schedulers, then load the optimiser's and the schedulers' states
    optim2 = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    sched2 = PARAM_SCHEDULERS.build(
        dict(cfg), default_args=dict(optimizer=OptimWrapper(optim2), epoch_length=per_epoch)
    )
    optim2.load_state_dict(optim_state)
    sched2.load_state_dict(state)
    for i in range(17, 4 * per_epoch):
        assert optim2.param_groups[0]['lr'] == pytest.approx(full[i][0], abs=1e-15), i
        optim2.step()
        sched2.step()


@pytest.mark.parametrize(
    'bad, match',
    [
        (dict(window=0), 'window'),
        (dict(warmup_epochs=5), 'warmup_epochs'),
        (dict(convert_to_iter_based=False), 'convert_to_iter_based'),
    ],
)
def test_bad_settings_name_the_problem(bad, match):
    cfg = dict(
        type='WindowedWarmupCosineLR', warmup_epochs=1, epochs=4, window=2, by_epoch=True, convert_to_iter_based=True
    )
    cfg.update(bad)
    optim = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match=match):
        PARAM_SCHEDULERS.build(cfg, default_args=dict(optimizer=OptimWrapper(optim), epoch_length=10))


def test_a_real_run_logs_the_originals_lr_per_micro_iteration(tiny_config, tmp_path):
    """mmengine's runner builds the scheduler from the epoch-based config (epoch_length from the loader) and
    ParamSchedulerHook steps it: the logged lr of every iteration is the original's (12 faces / 4 = 3 per epoch)."""
    import json

    from mmengine.runner import Runner

    extra = (
        "param_scheduler = [dict(type='WindowedWarmupCosineLR', warmup_epochs=1, epochs=2, window=2, "
        'by_epoch=True, convert_to_iter_based=True)]'
    )
    cfg = Config.fromfile(tiny_config(max_epochs=2, accum=2, extra=extra))
    cfg.work_dir = str(tmp_path / 'run')
    Runner.from_cfg(cfg).train()
    (scalars,) = glob.glob(f'{cfg.work_dir}/*/vis_data/scalars.json')
    logged = [json.loads(line) for line in open(scalars)]
    lrs = {r['step']: r['lr'] for r in logged if 'lr' in r}  # step = iteration, from 1
    want = original_lrs(per_epoch=3, accum=2, epochs=2, lr=1e-3, warmup=1)
    assert sorted(lrs) == list(range(1, 7))
    for step, lr in lrs.items():
        assert abs(lr - want[step - 1]) <= 1e-12, (step, lr, want[step - 1])
