"""A toy model, dataset and metric (mcf_mm's registries) for fast FaceRunner tests.

The dataset's ``metainfo`` holds numpy arrays as mmpose's does; the model uses dropout so that a resume that
did not restore the RNG would train differently; the metric returns a numpy scalar (best-score bookkeeping).
"""

from typing import Optional

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch import nn
from torch.utils.data import Dataset

from mcf_mm.registry import DATASETS, METRICS, MODELS

METAINFO = dict(
    dataset_name='toy',
    sigmas=np.array([0.026, 0.025, 0.035], np.float32),
    keypoint_colors=np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8),
    flip_indices=[1, 0, 2],
    names=np.array(['left', 'right', 'nose']),
    num_keypoints=np.int64(3),
)


@DATASETS.register_module()
class ToyRegressionSet(Dataset):
    """16 samples: x [4] from a fixed generator, y = sum(x) [1]."""

    metainfo = METAINFO

    def __init__(self, size: int = 16) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 4, generator=g)  # [N, 4]

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return dict(inputs=self.x[i], target=self.x[i].sum(0, keepdim=True))


@MODELS.register_module()
class ToyRegressor(BaseModel):
    """Linear -> dropout -> linear, trained with an MSE loss."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1))

    def forward(self, inputs, target=None, mode: str = 'tensor'):
        x, y = torch.stack(inputs), torch.stack(target)  # [B, 4], [B, 1]
        pred = self.net(x)
        if mode == 'loss':
            return dict(loss=((pred - y) ** 2).mean())
        return [dict(pred=p, target=t) for p, t in zip(pred, y)]


@METRICS.register_module()
class ToyMAE(BaseMetric):
    """Mean absolute error, returned as a numpy scalar (as many mm* metrics do)."""

    def process(self, data_batch, data_samples) -> None:
        self.results += [float((s['pred'] - s['target']).abs().sum()) for s in data_samples]

    def compute_metrics(self, results) -> dict:
        return dict(mae=np.float64(np.mean(results)))


def toy_cfg(
    work_dir: str, max_epochs: int = 3, max_keep_ckpts: int = -1, save_best: Optional[str] = None, **extra
) -> dict:
    """Config dict of a 3-epoch toy run (4 iterations per epoch) with FaceRunner's checkpoint options."""
    loader = dict(
        batch_size=4,
        num_workers=0,
        dataset=dict(type='ToyRegressionSet'),
        sampler=dict(type='DefaultSampler', shuffle=True),
    )
    ckpt = dict(type='CheckpointHook', interval=1, max_keep_ckpts=max_keep_ckpts)
    if save_best:
        ckpt.update(save_best=save_best, rule='less')
    cfg = dict(
        default_scope='mcf_mm',
        work_dir=work_dir,
        model=dict(type='ToyRegressor'),
        train_dataloader=loader,
        val_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
        test_dataloader=dict(loader, sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=dict(type='ToyMAE'),
        test_evaluator=dict(type='ToyMAE'),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs, val_interval=1),
        val_cfg=dict(),
        test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-2)),
        param_scheduler=[dict(type='MultiStepLR', milestones=[2], by_epoch=True)],
        default_hooks=dict(checkpoint=ckpt, logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[dict(type='RNGStateHook')],
        randomness=dict(seed=0),
        log_level='WARNING',
        env_cfg=dict(mp_cfg=dict(mp_start_method='fork')),
    )
    cfg.update(extra)
    return cfg


def write_toy_config(path: str, work_dir: str, **kwargs) -> str:
    """Write :func:`toy_cfg` as a config file importing this module (put this folder on ``PYTHONPATH``)."""
    cfg = toy_cfg(work_dir, **kwargs)
    cfg['custom_imports'] = dict(imports=['mcf_fixtures.toy_parts', 'mcf_mm.engine'], allow_failed_imports=False)
    with open(path, 'w') as f:
        f.write(''.join(f'{k} = {v!r}\n' for k, v in cfg.items()))
    return path


class StopAfterEpoch(Hook):
    """Raise (a stand-in for the process dying) after the checkpoint of epoch ``epoch`` was saved."""

    priority = 'LOWEST'

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_val_epoch(self, runner, metrics=None) -> None:
        if runner.epoch == self.epoch:
            raise KeyboardInterrupt(f'stopped after epoch {self.epoch}')
