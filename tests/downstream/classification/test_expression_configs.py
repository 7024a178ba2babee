"""Every expression config builds through mcf_mm's runner and trains one step (then evaluates the test split) with
a tiny FaceViT on fixture releases; its recipe holds the README's values; layer-wise lr decay reads FaceViT's
depths; the class-balanced sampler and the best-on-test checkpoint are switches of --cfg-options."""

import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import DefaultSampler
from mmengine.registry import DefaultScope

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures.expression import affectnet_row, write_affectnet, write_raf_db
from mcf_fixtures.tiny import TINY_ARCH
from mcf_mm.downstream.classification.samplers import ClassBalancedSampler
from mcf_mm.registry import DATA_SAMPLERS, DATASETS
from mcf_mm.utils.cfg_options import merge_cfg_options
from mcf_mm.utils.cli import build_runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG_DIR = osp.join(REPO, 'configs', 'face_classification', 'expression')
RAF = 'vit-base-p16_mcf-16e-pre_linear_8xb32-30e_raf-db-224px.py'
AFF7 = 'vit-base-p16_mcf-16e-pre_linear_8xb32-10e_affectnet-7-224px.py'
AFF8 = 'vit-base-p16_mcf-16e-pre_linear_8xb32-10e_affectnet-8-224px.py'
CASES = {RAF: ('raf', 7, 30, 3), AFF7: ('affectnet', 7, 10, 1), AFF8: ('affectnet', 8, 10, 1)}
TINY_PX = 32


@pytest.fixture(autouse=True)
def _skip_yapf_config_formatting(monkeypatch):
    """The Runner logs and dumps ``cfg.pretty_text`` (yapf-formatted: seconds per config); use the raw text."""
    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))


def _root(kind: str, tmp_path) -> str:
    if kind == 'raf':  # 2 training images: one step of batch 2
        return write_raf_db(str(tmp_path / 'raf-db'), train=[4, 7], test=[1, 4, 7])
    # rows dropped by both 7- and 8-way (8, 10) and by 7-way (contempt) around 2 kept training rows
    train = [affectnet_row('1/a.jpg', 1, (4, 6, 50, 60)), affectnet_row('1/b.jpg', 8, (0, 0, 30, 30))]
    train += [affectnet_row('2/c.jpg', 6, (10, 3, 40, 44)), affectnet_row('2/d.jpg', 10, (1, 1, 9, 9))]
    val = [affectnet_row('3/e.jpg', e, (5, 5, 40, 40)) for e in (0, 3, 9)]
    return write_affectnet(str(tmp_path / 'affectnet'), train, val)


def _tiny(cfg: Config, data_root: str, work_dir: str) -> Config:
    cfg.model.backbone.update(arch=dict(TINY_ARCH), img_size=TINY_PX, patch_size=8, init_cfg=None)
    cfg.model.head.in_channels = TINY_ARCH['embed_dims']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(batch_size=2, num_workers=0, persistent_workers=False)
        cfg[loader].dataset.data_root = data_root
        for t in cfg[loader].dataset.pipeline:
            if t.type == 'RandomResizedCrop':
                t.scale = TINY_PX
            elif t.type == 'Resize':
                t.scale = (TINY_PX, TINY_PX)
            elif t.type == 'CropFaceBox':
                t.size = TINY_PX
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    return cfg


def test_every_config_is_covered():
    assert {osp.basename(p) for p in glob.glob(osp.join(CFG_DIR, '*.py'))} == set(CASES)


def _depth(name: str, num_layers: int) -> int:
    """ViT layer depth as MAE's layer decay defines it: embeddings 0, block i -> i + 1, the rest num_layers + 1."""
    rest = name[len('backbone.') :] if name.startswith('backbone.') else None
    if rest is not None and (rest in ('cls_token', 'pos_embed') or rest.startswith('patch_embed')):
        return 0
    if rest is not None and rest.startswith('layers.'):
        return int(rest.split('.')[1]) + 1
    return num_layers + 1


@pytest.mark.parametrize('name', sorted(CASES))
def test_config_trains_one_step_and_evaluates(name, tmp_path):
    kind, num_classes, _, _ = CASES[name]
    cfg = _tiny(Config.fromfile(osp.join(CFG_DIR, name)), _root(kind, tmp_path), str(tmp_path / 'work'))
    assert cfg.default_scope == 'mcf_mm'
    runner = build_runner(cfg)
    assert type(runner).__name__ == 'FaceRunner'
    before = [p.detach().clone() for p in runner.model.head.parameters()]
    runner.train()
    assert runner.iter == 1, 'the fixture is one batch: one optimiser step'
    after = list(runner.model.head.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before)), 'one optimiser step changed nothing'
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    sampler = runner.train_dataloader.sampler
    assert isinstance(sampler, ClassBalancedSampler if kind == 'affectnet' else DefaultSampler)
    assert runner.model.head.fc.out_features == num_classes
    assert len(runner.train_dataloader.dataset.metainfo['classes']) == num_classes
    metrics = {k[len('val/') :]: v for k, v in runner.message_hub.log_scalars.items() if k.startswith('val/')}
    assert {'accuracy/top1', 'mean-class-accuracy/recall'} <= set(metrics)
    assert osp.isfile(str(tmp_path / 'work' / 'epoch_1.pth'))
    assert not glob.glob(str(tmp_path / 'work' / 'best_*.pth')), 'no checkpoint is selected on the test set'

    # layer-wise lr decay over FaceViT's depths (2 blocks: depths 0..3), no decay on norms/biases/tokens
    groups = runner.optim_wrapper.optimizer.param_groups
    named = dict(runner.model.named_parameters())
    assert {g['param_name'] for g in groups} == {n for n, p in named.items() if p.requires_grad}
    num_layers = TINY_ARCH['num_layers']
    for g in groups:
        n = g['param_name']
        assert g['lr_scale'] == pytest.approx(0.65 ** (num_layers + 1 - _depth(n, num_layers))), n
        no_decay = n.endswith('.bias') or '.ln' in n or n.endswith(('cls_token', 'pos_embed'))
        assert g['weight_decay'] == (0.0 if no_decay else 0.05), n
    assert {_depth(n, num_layers) for n in named} == set(range(num_layers + 2))


def test_best_on_test_is_a_named_option(tmp_path):
    cfg = _tiny(Config.fromfile(osp.join(CFG_DIR, RAF)), _root('raf', tmp_path), str(tmp_path / 'work'))
    merge_cfg_options(cfg, {'default_hooks.checkpoint.save_best': 'accuracy/top1'})
    build_runner(cfg).train()
    assert glob.glob(str(tmp_path / 'work' / 'best_accuracy_top1_epoch_1.pth'))


@pytest.mark.parametrize('name', [AFF7, AFF8])
def test_class_balanced_sampling_switches_off(name, tmp_path):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    off = {'train_dataloader.sampler.type': 'DefaultSampler', 'train_dataloader.sampler.shuffle': True}
    merge_cfg_options(cfg, off)
    cfg.train_dataloader.dataset.data_root = _root('affectnet', tmp_path)
    with DefaultScope.overwrite_default_scope('mcf_mm'):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        sampler = DATA_SAMPLERS.build(cfg.train_dataloader.sampler, default_args=dict(dataset=dataset, seed=0))
    assert type(sampler) is DefaultSampler and sampler.shuffle


@pytest.mark.parametrize('name', sorted(CASES))
def test_recipe_values(name):
    """The values in the README's recipe table."""
    kind, num_classes, epochs, warmup = CASES[name]
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    b = cfg.model.backbone
    assert (b.type, b.arch, b.img_size, b.patch_size, b.out_type, b.final_norm) == (
        'FaceViT',
        'base',
        224,
        16,
        'avg_featmap',
        False,
    )
    assert b.drop_path_rate == 0.1 and b.fixed_pos_embed is False and b.init_cfg.type == 'Pretrained'
    h = cfg.model.head
    assert (h.type, h.num_classes, h.in_channels) == ('LinearClsHead', num_classes, 768)
    assert (h.loss.type, h.loss.label_smooth_val) == ('LabelSmoothLoss', 0.1)
    ow = cfg.optim_wrapper
    assert ow.constructor == 'LearningRateDecayOptimWrapperConstructor' and ow.paramwise_cfg.layer_decay_rate == 0.65
    opt = ow.optimizer
    batch = 8 * cfg.train_dataloader.batch_size
    assert (opt.type, opt.betas, opt.weight_decay) == ('AdamW', (0.9, 0.999), 0.05)
    assert batch == 256 and opt.lr == pytest.approx(5e-4 * batch / 256)
    w, c = cfg.param_scheduler
    assert (w.type, w.start_factor, w.begin, w.end) == ('LinearLR', 1e-4, 0, warmup)
    assert (c.type, c.begin, c.end, c.T_max, c.eta_min) == ('CosineAnnealingLR', warmup, epochs, epochs - warmup, 1e-6)
    assert cfg.train_cfg.max_epochs == epochs and cfg.train_cfg.val_interval == epochs  # one test pass, at the end
    assert 'save_best' not in cfg.default_hooks.checkpoint
    train = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    test = [t.type for t in cfg.test_dataloader.dataset.pipeline]
    if kind == 'raf':
        assert train == ['LoadImageFromFile', 'RandomResizedCrop', 'RandomFlip', 'PackInputs']
        assert test == ['LoadImageFromFile', 'Resize', 'PackInputs']
        assert cfg.test_dataloader.dataset.split == 'test' and cfg.train_dataloader.sampler.type == 'DefaultSampler'
    else:
        assert train == ['LoadImageFromFile', 'CropFaceBox', 'RandomResizedCrop', 'RandomFlip', 'PackInputs']
        assert test == ['LoadImageFromFile', 'CropFaceBox', 'PackInputs']
        assert cfg.test_dataloader.dataset.split == 'val'
        assert cfg.train_dataloader.sampler.type == 'ClassBalancedSampler'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            assert cfg[loader].dataset.num_classes == num_classes
        assert cfg.train_dataloader.dataset.pipeline[1].margin == 0.0
    crop = cfg.train_dataloader.dataset.pipeline[-3]
    assert (crop.scale, tuple(crop.crop_ratio_range)) == (224, (0.8, 1.0))
