"""Every leave-one-out anti-spoofing config builds through mcf_mm's runner and trains one step (then evaluates the
target with the source-fixed threshold) with a tiny FaceViT on fixture videos of the four releases; the configs
hold the protocol (sources, target, calibration data, groups, frames, 2-way head, no selection on the target)."""

import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures import anti_spoofing as fx
from mcf_fixtures.tiny import TINY_ARCH
from mcf_mm.utils.cli import build_runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG_DIR = osp.join(REPO, 'configs', 'face_classification', 'anti_spoofing')
TINY_PX = 32
OULU, CASIA, REPLAY, MSU = 'oulu-npu', 'casia-fasd', 'replay-attack', 'msu-mfsd'
# config -> (sources, target, held-out source data for the threshold)
CASES = {
    'vit-base-p16_mcf-16e-pre_linear_4xb32-20e_fas-oci2m-224px.py': ({OULU, CASIA, REPLAY}, MSU, {OULU, REPLAY}),
    'vit-base-p16_mcf-16e-pre_linear_4xb32-20e_fas-omi2c-224px.py': ({OULU, MSU, REPLAY}, CASIA, {OULU, REPLAY}),
    'vit-base-p16_mcf-16e-pre_linear_4xb32-20e_fas-ocm2i-224px.py': ({OULU, CASIA, MSU}, REPLAY, {OULU}),
    'vit-base-p16_mcf-16e-pre_linear_4xb32-20e_fas-icm2o-224px.py': ({REPLAY, CASIA, MSU}, OULU, {REPLAY}),
}
DEVEL = {OULU: 'dev', REPLAY: 'devel'}


@pytest.fixture(autouse=True)
def _skip_yapf_config_formatting(monkeypatch):
    """The Runner logs and dumps ``cfg.pretty_text`` (yapf-formatted: seconds per config); use the raw text."""
    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))


@pytest.fixture(scope='module')
def releases(tmp_path_factory):
    root = tmp_path_factory.mktemp('fas')
    roots, boxes = {}, {}
    for db, make in fx.MAKERS.items():
        roots[db] = str(root / db)
        videos = make(roots[db])
        if db in (CASIA, MSU):
            boxes[db] = str(root / f'{db}-boxes.json')
            fx.write_box_file(boxes[db], videos)
    return roots, boxes


def test_every_config_is_covered():
    assert {osp.basename(p) for p in glob.glob(osp.join(CFG_DIR, '*.py'))} == set(CASES)


@pytest.mark.parametrize('name', sorted(CASES))
def test_config_holds_the_protocol(name):
    sources, target, calib = CASES[name]
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    train = cfg.train_dataloader.dataset
    assert train.type == 'ConcatDataset' and {d.database for d in train.datasets} == sources
    for d in train.datasets:  # every group but the development sets (SSDG's generate_label.py)
        assert tuple(d.splits) == ('train', 'test') and d.num_frames == 8 and d.frame_rule == 'uniform'
    test = cfg.test_dataloader.dataset
    tgt = [d for d in test.datasets if d.database == target]
    cal = [d for d in test.datasets if d.database != target]
    assert len(tgt) == 1 and tuple(tgt[0].splits) == ('train', 'test') and tgt[0].num_frames == 2
    assert {d.database for d in cal} == calib and calib <= sources
    assert all(tuple(d.splits) == (DEVEL[d.database],) and d.num_frames == 2 for d in cal)
    ev = cfg.test_evaluator
    assert (ev.type, ev.target_domain, ev.threshold, ev.video_level) == (
        'AntiSpoofingMetric',
        target,
        'source_eer',
        True,
    )
    assert cfg.val_evaluator == ev and cfg.val_dataloader == cfg.test_dataloader
    assert cfg.model.head.num_classes == 2 and cfg.model.backbone.arch == 'base' and cfg.model.backbone.img_size == 224
    assert cfg.default_hooks.checkpoint.get('save_best') is None  # no checkpoint chosen on the target
    assert cfg.train_cfg.val_interval == cfg.train_cfg.max_epochs == 20
    crop = [t for t in train.datasets[0].pipeline if t.type == 'CropFaceBox'][0]
    assert (crop.size, crop.margin) == (224, 0.0)


def _tiny(cfg: Config, roots: dict, boxes: dict, work_dir: str) -> Config:
    cfg.model.backbone.update(arch=dict(TINY_ARCH), img_size=TINY_PX, patch_size=8, init_cfg=None)
    cfg.model.head.in_channels = TINY_ARCH['embed_dims']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].update(batch_size=512, num_workers=0, persistent_workers=False)  # one step per epoch
        for d in cfg[loader].dataset.datasets:
            d.update(data_root=roots[d.database], frame_cache=None, box_file=boxes.get(d.database))
            for t in d.pipeline:
                if t.type == 'CropFaceBox':
                    t.size = TINY_PX
    cfg.train_cfg.update(max_epochs=1, val_interval=1)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    return cfg


@pytest.mark.parametrize('name', sorted(CASES))
def test_config_trains_one_step_and_evaluates(name, releases, tmp_path):
    roots, boxes = releases
    sources, target, calib = CASES[name]
    cfg = _tiny(Config.fromfile(osp.join(CFG_DIR, name)), roots, boxes, str(tmp_path / 'work'))
    assert cfg.default_scope == 'mcf_mm'
    runner = build_runner(cfg)
    assert {d.database for d in runner.train_dataloader.dataset.datasets} == sources
    domains = {
        runner.test_dataloader.dataset.get_data_info(i)['domain'] for i in range(len(runner.test_dataloader.dataset))
    }
    assert domains == {target} | calib
    before = [p.detach().clone() for p in runner.model.head.parameters()]
    runner.train()
    assert runner.iter == 1
    after = list(runner.model.head.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before)), 'one optimiser step changed nothing'
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    metrics = {k.split('val/')[-1]: v for k, v in runner.message_hub.log_scalars.items() if k.startswith('val/')}
    for key in ('HTER', 'FAR', 'FRR', 'threshold', 'AUC', 'EER', 'source/EER', 'HTER@target_EER'):
        assert key in metrics, key
    hter, far, frr = (metrics[k].current() for k in ('HTER', 'FAR', 'FRR'))
    assert hter == pytest.approx((far + frr) / 2)
