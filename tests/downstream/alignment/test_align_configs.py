"""Every face-alignment config builds in mmpose's scope and trains one step (then validates) through
mmengine's Runner with a tiny backbone, on fixtures in the dataset's original format."""

import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.runner import Runner

import mcf_mm  # noqa: F401
from mcf_fixtures.alignment import TINY_ARCH, WFLW_ATTRIBUTES

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG_DIR = osp.join(REPO, 'configs', 'face_alignment')


def _cfg(name: str) -> str:
    return osp.join(CFG_DIR, name)


CASES = {
    'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-150e_aflw19-512px.py': (
        'aflw_root',
        'NME_box',
        ['frontal/NME_box', 'AUC_box@0.07'],
    ),
    'vit-base-p16_farl-16e-pre_uper-heatmap_8xb5-150e_aflw19-512px.py': (
        'aflw_root',
        'NME_box',
        ['frontal/NME_box', 'AUC_box@0.07'],
    ),
    'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-250e_300w-512px.py': (
        'w300_root',
        'NME_inter_ocular',
        ['common/NME_inter_ocular', 'challenging/NME_inter_pupil'],
    ),
    'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-150e_wflw-512px.py': (
        'wflw_root',
        'NME_inter_ocular',
        [f'{a}/AUC_inter_ocular@0.1' for a in WFLW_ATTRIBUTES],
    ),
    'vit-demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py': ('helen_root', 'NME_inter_ocular', ['FR_inter_ocular@0.1']),
}


@pytest.fixture(autouse=True)
def _skip_yapf_config_formatting(monkeypatch):
    """The Runner logs and dumps ``cfg.pretty_text`` (yapf-formatted: seconds per config); use the raw text."""
    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))


def test_every_config_is_covered():
    names = {osp.basename(p) for p in glob.glob(osp.join(CFG_DIR, '*.py'))}
    assert set(CASES) | {'vit-demo-p4_mcf-demo-30e-pre_uper-heatmap_1xb8-20e_helen29-64px.py'} == names


def _tiny(cfg: Config, data_root: str, work_dir: str) -> Config:
    cfg.model.backbone.arch = dict(TINY_ARCH, num_layers=4)  # one block per level of mmseg's 4-level pyramid
    cfg.model.backbone.out_indices = (0, 1, 2, 3)
    cfg.model.backbone.init_cfg = None
    cfg.model.neck.embed_dim = 32
    cfg.model.head.in_channels = [32] * 4
    cfg.model.head.channels = 16
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(batch_size=2, num_workers=0, persistent_workers=False)
        cfg[loader].dataset.data_root = data_root
    for split in ('train_dataloader', 'val_dataloader'):
        if cfg[split].dataset.type == 'AFLW19MatDataset':
            cfg[split].dataset.num_train = 4
        if cfg[split].dataset.type == 'Helen29MatDataset':
            cfg[split].dataset.test_ratio = 1 / 3
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    return cfg


@pytest.mark.parametrize('name', sorted(CASES))
def test_config_trains_one_step_and_validates(name, request, tmp_path):
    fixture, best_key, subset_keys = CASES[name]
    data_root, _ = request.getfixturevalue(fixture)
    cfg = _tiny(Config.fromfile(_cfg(name)), data_root, str(tmp_path / 'work'))
    assert cfg.default_scope == 'mmpose'
    runner = Runner.from_cfg(cfg)
    runner.model = revert_sync_batchnorm(runner.model)  # as tools/train.py does on the CPU
    before = [p.detach().clone() for p in runner.model.head.parameters()]
    runner.train()
    after = list(runner.model.head.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before)), 'one optimiser step changed nothing'
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    metrics = {k.split('val/')[-1]: v for k, v in runner.message_hub.log_scalars.items() if k.startswith('val/')}
    assert best_key in metrics
    for key in subset_keys:
        assert key in metrics
    assert glob.glob(str(tmp_path / 'work' / f'best_{best_key.replace("/", "_")}_epoch_1.pth'))


def test_pretrained_helen_config_points_at_the_demo_checkpoint():
    cfg = Config.fromfile(_cfg('vit-demo-p4_mcf-demo-30e-pre_uper-heatmap_1xb8-20e_helen29-64px.py'))
    init = cfg.model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.checkpoint.startswith('work_dirs/demo/mcf/')
    assert cfg.model.backbone.arch == dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)


@pytest.mark.parametrize(
    'name,epochs,face_scale,k,norms',
    [
        (
            'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-150e_aflw19-512px.py',
            150,
            1.0,
            19,
            dict(box='box', diag='diag', inter_ocular=(6, 11), inter_pupil=(7, 10)),
        ),
        (
            'vit-base-p16_farl-16e-pre_uper-heatmap_8xb5-150e_aflw19-512px.py',
            150,
            1.0,
            19,
            dict(box='box', diag='diag', inter_ocular=(6, 11), inter_pupil=(7, 10)),
        ),
        (
            'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-250e_300w-512px.py',
            250,
            0.8,
            68,
            dict(inter_ocular=(36, 45), inter_pupil=([36, 37, 38, 39, 40, 41], [42, 43, 44, 45, 46, 47])),
        ),
        (
            'vit-base-p16_mcf-16e-pre_uper-heatmap_8xb5-150e_wflw-512px.py',
            150,
            0.8,
            98,
            dict(inter_ocular=(60, 72), inter_pupil=(96, 97)),
        ),
    ],
)
def test_protocol_configs_hold_the_papers_numbers(name, epochs, face_scale, k, norms):
    cfg = Config.fromfile(_cfg(name))
    m = cfg.model
    assert (m.backbone.arch, m.backbone.patch_size, m.backbone.resize_input) == ('base', 16, 448)
    assert m.backbone.out_indices == (3, 5, 7, 11) and m.backbone.final_norm is False
    assert m.neck.embed_dim == 768 and tuple(m.neck.rescales) == (4, 2, 1, 0.5)
    assert (m.head.channels, tuple(m.head.pool_scales), m.head.dropout_ratio, m.head.num_keypoints) == (
        768,
        (1, 2, 3, 6),
        0.1,
        k,
    )
    c = m.head.decoder
    assert (c.input_size, c.heatmap_size, c.sigma, c.radius) == (512, 128, 1.25, 5.0)
    assert m.head.heatmap_loss.loss_weight == m.head.point_loss.loss_weight == 1.0
    crop = cfg.train_dataloader.dataset.pipeline[1]
    assert (crop.type, crop.input_size, crop.face_scale, crop.rotate, crop.shift, crop.scale) == (
        'FaceBoxCrop',
        512,
        face_scale,
        10,
        0.05,
        0.1,
    )
    assert cfg.test_dataloader.dataset.pipeline[1].face_scale == face_scale
    assert 'RandomFlip' not in [t.type for t in cfg.train_dataloader.dataset.pipeline]
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.betas, opt.weight_decay) == ('AdamW', 1e-2, (0.9, 0.999), 1e-5)
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys['backbone'].lr_mult == 0.01  # backbone lr 1e-4
    assert cfg.optim_wrapper.type == 'OptimWrapper'  # fp32
    ema = cfg.custom_hooks[0]
    assert ema.type == 'EMAHook' and ema.momentum == pytest.approx(1 - 0.999)
    assert cfg.train_cfg.max_epochs == epochs and cfg.train_dataloader.batch_size == 5
    assert cfg.default_hooks.checkpoint.rule == 'less'
    assert cfg.val_evaluator.get('auc_grid', 'closed') == ('farl' if cfg.val_evaluator.get('ced') else 'closed')
    assert {n: (v if isinstance(v, str) else tuple(v)) for n, v in cfg.val_evaluator.normalizers.items()} == {
        n: (v if isinstance(v, str) else tuple(v)) for n, v in norms.items()
    }
