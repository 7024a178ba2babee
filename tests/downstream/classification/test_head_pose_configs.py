"""The head-pose config (300W-LP -> AFLW2000-3D) builds through mcf_mm's runner and trains one step, then
evaluates AFLW2000-3D with the +-99 degree filter, with a tiny FaceViT on fixture releases in the original
layouts; the recipe holds the README's values."""

import glob
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures.attributes_pose import write_300w_lp, write_aflw2000
from mcf_fixtures.tiny import TINY_ARCH
from mcf_mm.utils.cli import build_runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG_DIR = osp.join(REPO, 'configs', 'face_classification', 'head_pose')
NAME = 'vit-base-p16_mcf-16e-pre_reg_8xb32-30e_300w-lp-aflw2000-224px.py'
TINY_PX = 32


@pytest.fixture(autouse=True)
def _skip_yapf_config_formatting(monkeypatch):
    """The Runner logs and dumps ``cfg.pretty_text`` (yapf-formatted: seconds per config); use the raw text."""
    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))


def test_every_config_is_covered():
    assert {osp.basename(p) for p in glob.glob(osp.join(CFG_DIR, '*.py'))} == {NAME}


def _tiny(cfg: Config, train_root: str, test_root: str, work_dir: str) -> Config:
    cfg.model.backbone.update(arch=dict(TINY_ARCH), img_size=TINY_PX, patch_size=8, init_cfg=None)
    cfg.model.head.in_channels = TINY_ARCH['embed_dims']
    roots = dict(train_dataloader=train_root, val_dataloader=test_root, test_dataloader=test_root)
    for loader, root in roots.items():
        cfg[loader].update(num_workers=0, persistent_workers=False)
        cfg[loader].dataset.data_root = root
        for t in cfg[loader].dataset.pipeline:
            if t.type == 'CropFaceBox':
                t.size = TINY_PX + 8
            elif t.type in ('RandomCrop', 'CenterCrop'):
                t.crop_size = TINY_PX
    cfg.train_dataloader.batch_size = 16  # the 16 fixture faces of 300W-LP: one step
    cfg.val_dataloader.batch_size = cfg.test_dataloader.batch_size = 2
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    return cfg


def test_config_trains_one_step_and_evaluates_aflw2000(tmp_path):
    write_300w_lp(str(tmp_path / '300w_lp'), per_folder=2)  # 8 folders x 2 = 16 faces
    poses = [(10, -20, 5), (-99, 0, 5), (0, 120, 0), (30, 45, -10)]  # (pitch, yaw, roll) degrees; one > 99
    write_aflw2000(str(tmp_path / 'aflw2000'), poses)
    cfg = _tiny(
        Config.fromfile(osp.join(CFG_DIR, NAME)),
        str(tmp_path / '300w_lp'),
        str(tmp_path / 'aflw2000'),
        str(tmp_path / 'work'),
    )
    assert cfg.default_scope == 'mcf_mm'
    runner = build_runner(cfg)
    assert type(runner).__name__ == 'FaceRunner'
    assert len(runner.train_dataloader.dataset) == 16
    before = [p.detach().clone() for p in runner.model.head.parameters()]
    runner.train()
    assert runner.iter == 1
    after = list(runner.model.head.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before)), 'one optimiser step changed nothing'
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    metrics = {k[len('val/') :]: v for k, v in runner.message_hub.log_scalars.items() if k.startswith('val/')}
    assert {'MAE_yaw', 'MAE_pitch', 'MAE_roll', 'MAE'} <= set(metrics)
    assert len(runner.val_dataloader.dataset) == 3  # the face with yaw 120 is out of the +-99 protocol

    # the test pass against the MAE computed here from the model's own predictions
    test = runner.test()
    runner.model.eval()
    errors = []
    with torch.no_grad():
        for batch in runner.test_dataloader:
            for s in runner.model.val_step(batch):
                errors.append(np.abs(s.pred_value.numpy() - np.asarray(s.gt_value)))
    err = np.stack(errors)  # [3, 3] (yaw, pitch, roll)
    for j, n in enumerate(('yaw', 'pitch', 'roll')):
        assert test[f'MAE_{n}'] == pytest.approx(err[:, j].mean(), rel=1e-5)
    assert test['MAE'] == pytest.approx(err.mean(), rel=1e-5) and test['num_kept'] == 3


def test_recipe_values():
    """The values in the README's recipe table."""
    cfg = Config.fromfile(osp.join(CFG_DIR, NAME))
    b = cfg.model.backbone
    assert (b.type, b.arch, b.img_size, b.patch_size, b.out_type, b.final_norm, b.drop_path_rate) == (
        'FaceViT',
        'base',
        224,
        16,
        'avg_featmap',
        False,
        0.1,
    )
    h = cfg.model.head
    assert (h.type, h.in_channels, h.num_outputs, h.target_mean, h.target_std) == (
        'FaceRegressionHead',
        768,
        3,
        0.0,
        45.0,
    )
    assert h.loss.criterion == 'l1'
    ow = cfg.optim_wrapper
    assert ow.constructor == 'LearningRateDecayOptimWrapperConstructor' and ow.paramwise_cfg.layer_decay_rate == 0.65
    opt = ow.optimizer
    batch = 8 * cfg.train_dataloader.batch_size
    assert (opt.type, opt.betas, opt.weight_decay) == ('AdamW', (0.9, 0.999), 0.05)
    assert batch == 256 and opt.lr == pytest.approx(5e-4 * batch / 256)
    w, c = cfg.param_scheduler
    assert (w.type, w.start_factor, w.begin, w.end) == ('LinearLR', 1e-4, 0, 2)
    assert (c.type, c.begin, c.end, c.T_max, c.eta_min) == ('CosineAnnealingLR', 2, 30, 28, 1e-6)
    assert cfg.train_cfg.max_epochs == 30 and cfg.train_cfg.val_interval == 30
    assert 'save_best' not in cfg.default_hooks.checkpoint
    tr, te = cfg.train_dataloader.dataset, cfg.test_dataloader.dataset
    assert (tr.layout, tr.with_flip, tr.get('max_abs')) == ('300w_lp', True, None)
    assert (te.layout, te.max_abs) == ('aflw2000', 99)
    assert [t.type for t in tr.pipeline] == ['LoadImageFromFile', 'CropFaceBox', 'RandomCrop', 'PackInputs']
    assert [t.type for t in te.pipeline] == ['LoadImageFromFile', 'CropFaceBox', 'CenterCrop', 'PackInputs']
    assert tr.pipeline[1].margin == te.pipeline[1].margin == 0.3 and tr.pipeline[1].size == 256
    assert tr.pipeline[2].crop_size == te.pipeline[2].crop_size == 224
    assert tuple(tr.pipeline[-1].algorithm_keys) == ('gt_value',)
    ev = cfg.test_evaluator
    assert (ev.type, tuple(ev.names), ev.get('period'), ev.get('max_abs')) == (
        'RegressionMAE',
        ('yaw', 'pitch', 'roll'),
        None,
        None,
    )
