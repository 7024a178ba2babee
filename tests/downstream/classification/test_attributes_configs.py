"""Every CelebA attribute config builds through mcf_mm's runner and trains one step (validates on val, tests on
test) with a tiny FaceViT on a fixture CelebA release; the facer head from the project is selectable; the recipe
holds the README's values."""

import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures.attributes_pose import write_celeba
from mcf_fixtures.tiny import TINY_ARCH
from mcf_mm.utils.cli import build_runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG_DIR = osp.join(REPO, 'configs', 'face_classification', 'attributes')
LINEAR = 'vit-base-p16_mcf-16e-pre_linear_8xb32-20e_celeba-224px.py'
FACER = 'vit-base-p16_mcf-16e-pre_facer-attr-head_8xb32-20e_celeba-224px.py'
CASES = {LINEAR: 'MultiLabelLinearClsHead', FACER: 'FacerAttributeHead'}
TINY_PX = 32


@pytest.fixture(autouse=True)
def _skip_yapf_config_formatting(monkeypatch):
    """The Runner logs and dumps ``cfg.pretty_text`` (yapf-formatted: seconds per config); use the raw text."""
    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))


def _tiny(cfg: Config, data_root: str, work_dir: str) -> Config:
    cfg.model.backbone.update(arch=dict(TINY_ARCH), img_size=TINY_PX, patch_size=8, init_cfg=None)
    cfg.model.head.in_channels = TINY_ARCH['embed_dims']
    if cfg.model.head.type == 'FacerAttributeHead':
        cfg.model.backbone.out_indices = (0, 1)
        cfg.model.head.num_layers = 2
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(batch_size=2, num_workers=0, persistent_workers=False)
        cfg[loader].dataset.data_root = data_root
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
def test_config_trains_one_step_validates_and_tests(name, tmp_path):
    root = str(tmp_path / 'celeba')
    write_celeba(root, partitions=(0, 0, 1, 1, 1, 2, 2))  # 2 train images: one step of batch 2
    cfg = _tiny(Config.fromfile(osp.join(CFG_DIR, name)), root, str(tmp_path / 'work'))
    assert cfg.default_scope == 'mcf_mm'
    runner = build_runner(cfg)
    assert type(runner).__name__ == 'FaceRunner'
    assert type(runner.model.head).__name__ == CASES[name]
    before = [p.detach().clone() for p in runner.model.head.parameters()]
    runner.train()
    assert runner.iter == 1
    after = list(runner.model.head.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before)), 'one optimiser step changed nothing'
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    val = {k[len('val/') :]: v for k, v in runner.message_hub.log_scalars.items() if k.startswith('val/')}
    assert 'attr/mean_accuracy' in val and 'attr/acc_Smiling' in val
    # MAE's weight-decay rule: none on 1-D parameters (and the cls token / position embedding), 0.05 on the rest
    named = dict(runner.model.named_parameters())
    for g in runner.optim_wrapper.optimizer.param_groups:
        n = g['param_name']
        no_decay = named[n].ndim == 1 or n.endswith(('cls_token', 'pos_embed'))
        assert g['weight_decay'] == (0.0 if no_decay else 0.05), n
    assert len(runner.val_dataloader.dataset) == 3
    # the val split selects the checkpoint
    assert glob.glob(str(tmp_path / 'work' / 'best_attr_mean_accuracy_epoch_1.pth'))
    test = runner.test()
    assert len(runner.test_dataloader.dataset) == 2
    assert 0.0 <= test['attr/mean_accuracy'] <= 100.0 and len([k for k in test if '/acc_' in k]) == 40
    per_attr = [v for k, v in test.items() if '/acc_' in k]
    assert test['attr/mean_accuracy'] == pytest.approx(sum(per_attr) / 40)
    # with 2 test images, each attribute's accuracy is 0, 50 or 100
    assert set(per_attr) <= {0.0, 50.0, 100.0}


@pytest.mark.parametrize('name', sorted(CASES))
def test_recipe_values(name):
    """The values in the README's recipe table."""
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    b = cfg.model.backbone
    assert (b.type, b.arch, b.img_size, b.patch_size, b.final_norm, b.drop_path_rate) == (
        'FaceViT',
        'base',
        224,
        16,
        False,
        0.1,
    )
    assert b.fixed_pos_embed is False and b.init_cfg.type == 'Pretrained'
    h = cfg.model.head
    assert (h.type, h.num_classes, h.in_channels) == (CASES[name], 40, 768)
    if name == FACER:
        assert (b.out_type, tuple(b.out_indices), h.num_layers, h.dropout) == ('raw', (5, 7, 9, 11), 4, 0.1)
        assert 'projects.facer_attribute_head.facer_attr' in cfg.custom_imports.imports
    else:
        assert b.out_type == 'avg_featmap'
        assert (h.loss.type, h.loss.use_sigmoid, h.thr) == ('CrossEntropyLoss', True, 0.5)
    ow = cfg.optim_wrapper
    assert ow.constructor == 'LearningRateDecayOptimWrapperConstructor' and ow.paramwise_cfg.layer_decay_rate == 0.65
    opt = ow.optimizer
    batch = 8 * cfg.train_dataloader.batch_size
    assert (opt.type, opt.betas, opt.weight_decay) == ('AdamW', (0.9, 0.999), 0.05)
    assert batch == 256 and opt.lr == pytest.approx(5e-4 * batch / 256)
    w, c = cfg.param_scheduler
    assert (w.type, w.start_factor, w.begin, w.end) == ('LinearLR', 1e-4, 0, 2)
    assert (c.type, c.begin, c.end, c.T_max, c.eta_min) == ('CosineAnnealingLR', 2, 20, 18, 1e-6)
    assert cfg.train_cfg.max_epochs == 20 and cfg.train_cfg.val_interval == 1
    assert cfg.default_hooks.checkpoint.save_best == 'attr/mean_accuracy'
    assert (cfg.val_dataloader.dataset.split, cfg.test_dataloader.dataset.split) == ('val', 'test')
    train = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert train == ['LoadImageFromFile', 'Resize', 'RandomFlip', 'PackInputs']
    assert [t.type for t in cfg.test_dataloader.dataset.pipeline] == ['LoadImageFromFile', 'Resize', 'PackInputs']
    assert cfg.train_dataloader.dataset.pipeline[1].scale == (224, 224)
    assert cfg.test_evaluator.type == 'MeanAttributeAccuracy' and cfg.test_evaluator.thr == 0.5
