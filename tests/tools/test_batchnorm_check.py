"""BatchNorm batch of 1: found in the projector/predictor and UPer heads, refused before the first iteration."""

import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmengine.runner import Runner
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.data import DataLoader

from mcf_mm.engine.hooks.config_checks import BatchNormBatchCheckHook, one_value_batchnorms, train_batches
from mcf_mm.registry import MODELS


def uper_head() -> nn.Module:
    from mmseg.models.decode_heads import UPerHead

    return UPerHead(
        in_channels=[8] * 4,
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=8,
        num_classes=3,
        norm_cfg=dict(type='BN', requires_grad=True),
    )


def projector() -> nn.Module:
    return MODELS.build(dict(type='ProjectionMLP', in_channels=8, hid_channels=16, out_channels=4))


def features(head: nn.Module, n: int):
    if isinstance(head, nn.Sequential):
        return torch.randn(n, 3, 8, 8)  # [N, 3, 8, 8]
    if 'UPer' in type(head).__name__:
        return [torch.randn(n, 8, s, s) for s in (16, 8, 4, 2)]  # pyramid [N, 8, s, s]
    return (torch.randn(n, 8),)  # mmpretrain neck input: a 1-tuple of CLS features [N, 8]


def values_per_channel(head: nn.Module, n: int = 2) -> dict:
    """Ground truth from a real forward: values per channel and sample that each BatchNorm receives."""
    seen, handles = {}, []
    for name, m in head.named_modules():
        if isinstance(m, _BatchNorm):
            handles.append(
                m.register_forward_pre_hook(
                    lambda mod, inp, name=name: seen.__setitem__(name, inp[0][0].numel() // inp[0].shape[1])
                )
            )
    head.train()
    head(features(head, n))
    for h in handles:
        h.remove()
    return seen


@pytest.mark.parametrize(
    'make',
    [
        uper_head,
        projector,
        lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.AdaptiveAvgPool2d(2), nn.BatchNorm2d(4)),
    ],
)
def test_found_layers_are_exactly_those_a_batch_of_one_breaks(make):
    head = make()
    truth = {name for name, values in values_per_channel(head).items() if values == 1}
    assert {name for name, _ in one_value_batchnorms(head)} == truth
    if truth:
        with pytest.raises(ValueError, match='Expected more than 1 value per channel'):
            head(features(head, 1))
    else:
        head(features(head, 1))


def test_batches_per_process_from_the_dataloader():
    data = list(range(13))
    assert train_batches(DataLoader(data, batch_size=4)) == (4, 1, 13)
    assert train_batches(DataLoader(data, batch_size=4, drop_last=True)) == (4, None, 13)
    assert train_batches(DataLoader(data, batch_size=3, sampler=DefaultSampler(data, shuffle=False))) == (3, 1, 13)
    assert train_batches(DataLoader(data, batch_size=4, sampler=InfiniteSampler(data)))[1] is None


def runner_for(tiny_config, tmp_path, **loader):
    cfg = Config.fromfile(tiny_config(max_epochs=1))
    cfg.train_dataloader.update(loader)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [dict(type='mcf_mm.BatchNormBatchCheckHook')]
    # mmengine's plain Runner: the check needs nothing of FaceRunner (None = a default hook switched off)
    cfg.default_hooks = {k: v for k, v in cfg.default_hooks.items() if v is not None}
    runner = Runner.from_cfg(cfg)
    steps = []
    train_step = runner.model.train_step
    runner.model.train_step = lambda *a, **k: steps.append(1) or train_step(*a, **k)
    return runner, steps


def test_a_last_batch_of_one_is_refused_before_the_first_iteration(tiny_config, tmp_path):
    runner, steps = runner_for(tiny_config, tmp_path, batch_size=11)  # 12 faces: 11 + a last batch of 1
    assert any(isinstance(h, BatchNormBatchCheckHook) for h in runner.hooks)
    with pytest.raises(
        ValueError,
        match=r'last batch of each epoch has 1 sample \(12 samples per GPU, '
        r'batch_size=11\).*projector.*drop_last=True',
    ):
        runner.train()
    assert steps == [] and runner.iter == 0


def test_batch_size_one_is_refused_and_drop_last_trains(tiny_config, tmp_path):
    runner, steps = runner_for(tiny_config, tmp_path / 'one', batch_size=1)
    with pytest.raises(ValueError, match='batch_size=1 per GPU.*batch_size >= 2'):
        runner.train()
    assert steps == []
    runner, steps = runner_for(tiny_config, tmp_path / 'drop', batch_size=11, drop_last=True)
    runner.train()
    assert len(steps) == 1 and runner.iter == 1  # the lone 12th sample is dropped


@pytest.mark.slow
def test_tools_train_refuses_before_iteration_one(tiny_config, tmp_path, repo_root):
    work = str(tmp_path / 'work')
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    run = subprocess.run(
        [
            sys.executable,
            osp.join(repo_root, 'tools', 'train.py'),
            tiny_config(),
            '--work-dir',
            work,
            '--cfg-options',
            'train_dataloader.batch_size=11',
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode != 0 and 'drop_last=True' in run.stderr
    logs = ''.join(open(p).read() for p in glob.glob(osp.join(work, '*', '*.log')))
    assert 'Epoch(train)' not in logs and not glob.glob(osp.join(work, '*.pth'))
