"""The recipe's lr schedule, stepped as mmengine steps it, against the original's per-window schedule."""

import math

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import PARAM_SCHEDULERS

RECIPE = 'configs/mcf/mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-224px.py'


def original_lr(i: int, base: float, per_epoch: int, warmup: int = 1, epochs: int = 16) -> float:
    """MAE/MCF's adjust_learning_rate, called at the first micro-iteration i of each accumulation window."""
    epoch = i / per_epoch
    if epoch < warmup:
        return base * epoch / warmup
    return base * 0.5 * (1.0 + math.cos(math.pi * (epoch - warmup) / (epochs - warmup)))


def mmengine_lrs(repo_root: str, per_epoch: int, accum: int) -> dict:
    """lr seen by each optimiser step when the recipe's schedulers step once per micro-iteration (mmengine)."""
    cfg = Config.fromfile(f'{repo_root}/{RECIPE}')
    base = cfg.optim_wrapper.optimizer.lr
    model = torch.nn.Linear(1, 1)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=base), accumulative_counts=accum)
    wrapper.initialize_count_status(model, 0, 16 * per_epoch)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s), default_args=dict(optimizer=wrapper, epoch_length=per_epoch))
        for s in cfg.param_scheduler
    ]
    seen = {}
    for i in range(16 * per_epoch):
        wrapper._inner_count += 1  # what OptimWrapper.backward counts
        if wrapper.should_update():  # the optimiser steps in this micro-iteration, with the current lr
            seen[i] = wrapper.param_groups[0]['lr']
        for s in schedulers:  # ParamSchedulerHook.after_train_iter
            s.step()
    return dict(base=base, seen=seen, start_factor=cfg.param_scheduler[0].start_factor)


def test_recipe_schedule_follows_the_original_within_one_window(repo_root):
    per_epoch, accum = 64, 8
    out = mmengine_lrs(repo_root, per_epoch, accum)
    base, seen = out['base'], out['seen']
    assert sorted(seen) == list(range(accum - 1, 16 * per_epoch, accum))  # one lr per window: the last one's
    # warm-up starts at (almost) 0: the first step sees what 7 micro-iterations of warm-up give
    assert out['start_factor'] <= 1e-8
    first = seen[accum - 1]
    assert math.isclose(first, base * (accum - 1) / (per_epoch - 1), rel_tol=1e-6)
    for i, lr in seen.items():
        start = i - (accum - 1)  # the window's first micro-iteration, where the original sets its lr
        want = original_lr(start, base, per_epoch)
        # mmengine's value is the original's at the window's LAST micro-iteration, to within 1/W (LinearLR
        # reaches the full lr at W - 1, not W), hence less than one window of warm-up slope from the original's
        later = original_lr(i, base, per_epoch)
        assert abs(lr - later) <= base * (1 / per_epoch + 1e-9), (i, lr, later)
        assert abs(lr - want) <= base * (accum / per_epoch + 1e-9), (i, lr, want)
    assert original_lr(0, base, per_epoch) == 0.0 and first > 0.0
    assert seen[16 * per_epoch - 1] < base * 1e-3  # the cosine ends near 0
