"""Every UTKFace config builds through mcf_mm's runner and trains one step (then validates on the val split) with a
tiny FaceViT on a fixture folder in the release's layout; the documented init_cfg override loads a checkpoint."""

import argparse
import glob
import math
import os.path as osp
import warnings

import pytest
import torch
from mmengine.config import Config, DictAction

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures.tiny import TINY_ARCH, save_tiny_teacher
from mcf_fixtures.utkface import write_utkface
from mcf_mm.utils.cfg_options import merge_cfg_options
from mcf_mm.utils.cli import build_runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG_DIR = osp.join(REPO, 'configs', 'face_classification', 'utkface')
CASES = {
    'vit-demo-p4_reg_1xb64-4e_utkface-age-64px.py': ('age', 'FaceRegressionHead', ['MAE_age', 'MAE', 'num_kept']),
    'vit-demo-p4_linear_1xb64-4e_utkface-gender-64px.py': ('gender', 'LinearClsHead', ['accuracy/top1']),
    'vit-demo-p4_linear_1xb64-4e_utkface-race-64px.py': (
        'race',
        'LinearClsHead',
        ['accuracy/top1', 'mean-class-accuracy/recall'],
    ),
}
TINY_PX = 32


@pytest.fixture(autouse=True)
def _skip_yapf_config_formatting(monkeypatch):
    """The Runner logs and dumps ``cfg.pretty_text`` (yapf-formatted: seconds per config); use the raw text."""
    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))


def _tiny(cfg: Config, data_root: str, work_dir: str) -> Config:
    cfg.model.backbone.update(arch=dict(TINY_ARCH), img_size=TINY_PX, patch_size=8)
    cfg.model.head.in_channels = TINY_ARCH['embed_dims']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(batch_size=2, num_workers=0, persistent_workers=False)
        cfg[loader].dataset.update(data_root=data_root, indices=2)  # 2 samples: one step of batch 2
        for t in cfg[loader].dataset.pipeline:
            if t.type == 'Resize':
                t.scale = (TINY_PX, TINY_PX)
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    return cfg


def test_every_config_is_covered():
    assert {osp.basename(p) for p in glob.glob(osp.join(CFG_DIR, '*.py'))} == set(CASES)


@pytest.mark.parametrize('name', sorted(CASES))
def test_config_trains_one_step_and_validates(name, tmp_path):
    task, head, keys = CASES[name]
    write_utkface(str(tmp_path / 'utkface'), n=60)
    cfg = _tiny(Config.fromfile(osp.join(CFG_DIR, name)), str(tmp_path / 'utkface'), str(tmp_path / 'work'))
    assert cfg.default_scope == 'mcf_mm' and cfg.model.head.type == head
    splits = [cfg[f'{s}_dataloader'].dataset.split for s in ('train', 'val', 'test')]
    assert splits == ['train', 'val', 'test']
    assert {cfg[f'{s}_dataloader'].dataset.task for s in ('train', 'val', 'test')} == {task}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the fixture's malformed names
        runner = build_runner(cfg)
        assert type(runner).__name__ == 'FaceRunner'
        before = [p.detach().clone() for p in runner.model.parameters()]
        runner.train()
    assert runner.iter == 1
    assert any(not torch.equal(a, b) for a, b in zip(runner.model.parameters(), before))
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    metrics = {k[len('val/') :]: v for k, v in runner.message_hub.log_scalars.items() if k.startswith('val/')}
    assert set(keys) <= set(metrics), sorted(metrics)


def test_init_cfg_override_loads_a_pretrained_backbone(tmp_path):
    """The README's variant: --cfg-options model.backbone.init_cfg.type=Pretrained ....checkpoint=PATH ..."""
    ckpt = save_tiny_teacher(str(tmp_path / 'tiny.pth'))
    name = 'vit-demo-p4_reg_1xb64-4e_utkface-age-64px.py'
    write_utkface(str(tmp_path / 'utkface'), n=60)
    cfg = _tiny(Config.fromfile(osp.join(CFG_DIR, name)), str(tmp_path / 'utkface'), str(tmp_path / 'work'))
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    words = [f'model.backbone.init_cfg.{k}={v}' for k, v in [('type', 'Pretrained'), ('checkpoint', ckpt)]]
    words += ['model.backbone.init_cfg.source=auto', 'model.backbone.init_cfg.min_matched=0.9']
    merge_cfg_options(cfg, parser.parse_args(['--cfg-options', *words]).cfg_options)  # as tools/train.py does
    assert cfg.model.backbone.init_cfg.min_matched == 0.9
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        runner = build_runner(cfg)
    runner.model.init_weights()
    saved = torch.load(ckpt, map_location='cpu')['state_dict']
    got = runner.model.backbone.state_dict()
    assert torch.equal(got['patch_embed.projection.weight'], saved['backbone.patch_embed.projection.weight'])
    assert torch.equal(got['layers.1.ffn.layers.1.weight'], saved['backbone.layers.1.ffn.layers.1.weight'])
