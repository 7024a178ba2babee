"""Every face parsing config builds in mmseg's scope and trains one step with a tiny backbone; mmseg's runner
runs them end to end through tools/train.py and tools/test.py on fixture data in the release layouts."""

import glob
import importlib.util
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

import mcf_mm.downstream.parsing  # noqa: F401

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
CFG_DIR = osp.join(ROOT, 'configs', 'face_parsing')
TINY_ARCH = dict(embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=64)


def _tiny(cfg: Config, data_root: str) -> Config:
    """Shrink the model (4 blocks x 32 dims, 16-channel head), keep the config's pipelines and schedule."""
    bb = cfg.model.backbone
    bb.update(arch=TINY_ARCH, out_indices=(0, 1, 2, 3), init_cfg=None)
    cfg.model.neck.update(embed_dim=32, norm_cfg=dict(type='BN', requires_grad=True))
    cfg.model.decode_head.update(in_channels=[32] * 4, channels=16, norm_cfg=dict(type='BN', requires_grad=True))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg[key]
        dl.update(batch_size=2 if key == 'train_dataloader' else 1, num_workers=0, persistent_workers=False)
        ds = dl.dataset.get('dataset', dl.dataset)  # RepeatDataset wraps the FASSEG train set
        ds.data_root = data_root
    return cfg


CONFIGS = {
    'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_lapa-512px.py': ('lapa_root', 11),
    'vit-base-p16_farl-16e-pre_uperhead_8xb5-300e_lapa-512px.py': ('lapa_root', 11),
    'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_celebamask-hq-512px.py': ('celebamask_root', 19),
    'vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py': ('fasseg_root', 6),
    'vit-demo-p4_mcf-demo-30e-pre_uperhead_1xb4-20e_fasseg-v2-128px.py': ('fasseg_root', 6),
    'vit-demo-p4_uperhead_1xb4-20e_fasseg-v3pose-test-128px.py': ('fasseg_root', 6),
}


def test_every_config_is_covered():
    found = {osp.basename(p) for p in glob.glob(osp.join(CFG_DIR, '*.py'))}
    assert found == set(CONFIGS)


@pytest.fixture(scope='module')
def painted_celebamask(celebamask_root):
    spec = importlib.util.spec_from_file_location(
        'celebamask_conv', osp.join(ROOT, 'tools', 'dataset_converters', 'celebamask_hq.py')
    )
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    conv.convert(celebamask_root, size=32)
    return celebamask_root


def test_variant_configs_build_in_mmseg_scope(fasseg_root):
    """The pre-trained and V3-pose variants differ from the FASSEG config only where they should."""
    base = Config.fromfile(osp.join(CFG_DIR, 'vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py'))
    pre = Config.fromfile(osp.join(CFG_DIR, 'vit-demo-p4_mcf-demo-30e-pre_uperhead_1xb4-20e_fasseg-v2-128px.py'))
    v3 = Config.fromfile(osp.join(CFG_DIR, 'vit-demo-p4_uperhead_1xb4-20e_fasseg-v3pose-test-128px.py'))
    assert base.model.backbone.init_cfg is None
    assert pre.model.backbone.init_cfg.type == 'Pretrained'
    assert pre.model.backbone.init_cfg.checkpoint.startswith('work_dirs/demo/mcf/')
    pre.model.backbone.init_cfg = None
    assert pre.model.to_dict() == base.model.to_dict()
    assert v3.test_dataloader.dataset.version == 'V3' and v3.train_dataloader.dataset.dataset.version == 'V2'
    init_default_scope('mmseg')
    MODELS.build(pre.model)
    v3.test_dataloader.dataset.data_root = fasseg_root
    ds = DATASETS.build(v3.test_dataloader.dataset)
    assert len(ds) == 2 and all(osp.join('V3', 'Test_RGB') in ds.get_data_info(i)['img_path'] for i in range(2))


@pytest.mark.parametrize(
    'name',
    [
        'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_lapa-512px.py',
        'vit-base-p16_farl-16e-pre_uperhead_8xb5-300e_lapa-512px.py',
        'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_celebamask-hq-512px.py',
        'vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py',
    ],
)
def test_config_builds_in_mmseg_scope_and_trains_one_step(name, request, painted_celebamask):
    fixture, num_classes = CONFIGS[name]
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    assert cfg.default_scope == 'mmseg' and 'mcf_mm.downstream.parsing' in cfg.custom_imports.imports
    assert cfg.model.decode_head.num_classes == num_classes
    assert cfg.model.decode_head.dropout_ratio == 0.1 and cfg.model.neck.rescales == [4, 2, 1, 0.5]
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys.backbone.lr_mult == 0.1
    cfg = _tiny(cfg, request.getfixturevalue(fixture))
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    model.init_weights()
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    batch = pseudo_collate([ds[0], ds[1]])
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    lrs = {g['lr'] for g in optim.param_groups}
    assert lrs == {1e-3, 1e-4}  # neck/head 1e-3, backbone 1e-4
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    model.train()
    log = model.train_step(batch, optim)
    assert torch.isfinite(log['loss']) and log['loss'] > 0
    changed = [k for k, v in model.named_parameters() if not torch.equal(v, before[k])]
    assert any(k.startswith('backbone.') for k in changed) and any(k.startswith('decode_head.') for k in changed)
    # test step: predictions come back at the ORIGINAL resolution of the test label image
    tds = DATASETS.build(cfg.test_dataloader.dataset)
    model.eval()
    with torch.no_grad():
        out = model.test_step(pseudo_collate([tds[0]]))[0]
    assert out.pred_sem_seg.shape == out.gt_sem_seg.shape == tuple(out.metainfo['ori_shape'][:2])
    assert out.seg_logits.data.shape[0] == num_classes


def _run_tool(script: str, argv):
    spec = importlib.util.spec_from_file_location(osp.basename(script)[:-3] + '_tool', script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    old = sys.argv
    sys.argv = [script] + list(argv)
    try:
        mod.main()
    finally:
        sys.argv = old


@pytest.mark.parametrize(
    'name',
    ['vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py', 'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_lapa-512px.py'],
)
def test_runner_trains_and_tests_through_the_tools(name, request, tmp_path):
    fixture, num_classes = CONFIGS[name]
    data_root = request.getfixturevalue(fixture)
    cfg_path = tmp_path / 'tiny.py'
    cfg_path.write_text(
        f'_base_ = [{osp.join(CFG_DIR, name)!r}]\n'
        f'model = dict(backbone=dict(arch=dict(_delete_=True, **{TINY_ARCH!r}), out_indices=(0, 1, 2, 3),\n'
        + ('                           img_size=224, resize_input=224,\n' if 'lapa' in name else '')
        + '                           init_cfg=None),\n'
        '             neck=dict(embed_dim=32), decode_head=dict(in_channels=[32] * 4, channels=16))\n'
        'train_cfg = dict(max_epochs=1, val_interval=1)\n'
        "param_scheduler = [dict(type='MultiStepLR', by_epoch=True, begin=0, end=1, milestones=[1])]\n"
        'default_hooks = dict(checkpoint=dict(interval=1), logger=dict(interval=1))\n'
        + ''.join(
            f'{k} = dict(batch_size={2 if k.startswith("train") else 1}, num_workers=0, '
            f'persistent_workers=False, dataset=dict(data_root={data_root!r}))\n'
            for k in ('val_dataloader', 'test_dataloader')
        )
        + (
            f'train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, '
            f'dataset=dict(times=1, dataset=dict(data_root={data_root!r})))\n'
            if 'fasseg' in name
            else f'train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False, '
            f'dataset=dict(data_root={data_root!r}))\n'
        )
    )
    work = tmp_path / 'work'
    _run_tool(osp.join(ROOT, 'tools', 'train.py'), [str(cfg_path), '--work-dir', str(work)])
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    state = torch.load(ckpt, map_location='cpu', weights_only=True)  # runner checkpoints are plain data
    # mmengine's EMAHook keeps an average of every tensor (`module.<name>`) and swaps it into `state_dict` at save
    ema = {k[len('module.') :]: v for k, v in state['ema_state_dict'].items() if k.startswith('module.')}
    assert set(ema) == set(state['state_dict'])
    assert all(ema[k].shape == v.shape for k, v in state['state_dict'].items())
    assert int(state['ema_state_dict']['steps']) >= 1  # the average was updated
    out = tmp_path / 'metrics.json'
    _run_tool(
        osp.join(ROOT, 'tools', 'test.py'), [str(cfg_path), str(ckpt), '--work-dir', str(work), '--out', str(out)]
    )
    metrics = json.loads(out.read_text())
    per_class = [v for k, v in metrics.items() if k.startswith('F1.')]
    assert len(per_class) == num_classes
    assert 0.0 <= metrics['mF1'] <= 100.0
    assert metrics['mF1'] == pytest.approx(np.nanmean(per_class[1:]), abs=1e-6)
