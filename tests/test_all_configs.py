"""Every config parses (its _base_ chain resolves, mmpretrain::/mmpose::/mmseg:: runtimes included); data is read
below data/<dataset> or $MCF_MM_DATA, never from outside the clone; the MCF recipe holds the paper's numbers."""

import glob
import os.path as osp

import pytest
from mmengine.config import Config

import mcf_mm  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    p
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    + glob.glob(osp.join(REPO, 'projects', '*', 'configs', '*.py'))
    if '_base_' not in p and not osp.basename(p).startswith('_')
)
IDS = [osp.relpath(p, REPO) for p in CONFIGS]


def _data_paths(node, key=None):
    """Every (key, value) below ``node`` that names where data is read from: data roots, image folders, and
    annotation files of datasets without a root (with a root, ``ann_file`` is relative to it)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == 'ann_file' and node.get('data_root'):
                continue
            yield from _data_paths(v, k)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _data_paths(v, key)
    elif isinstance(node, str) and key in ('data_root', 'img_path', 'ann_file'):
        yield key, node


def _loaders(cfg: Config) -> dict:
    return {k: cfg[k] for k in ('train_dataloader', 'val_dataloader', 'test_dataloader') if k in cfg}


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_config_parses(path):
    cfg = Config.fromfile(path)
    assert 'model' in cfg and 'default_scope' in cfg


@pytest.mark.parametrize('path', CONFIGS, ids=IDS)
def test_data_lives_below_data_or_the_env_root(path, monkeypatch, tmp_path):
    """Roots default to data/<dataset> (or the run's own work_dirs/); $MCF_MM_DATA moves all of them at once."""
    monkeypatch.delenv('MCF_MM_DATA', raising=False)
    pairs = list(_data_paths(_loaders(Config.fromfile(path))))
    assert pairs or 'skimage' in path, 'a config that reads files names where'
    for key, value in pairs:
        assert not osp.isabs(value) and '..' not in value.split('/'), (key, value)
        assert value == '' or value.startswith(('data/', 'work_dirs/')), (key, value)
    root = str(tmp_path / 'datasets')
    monkeypatch.setenv('MCF_MM_DATA', root)
    moved = list(_data_paths(_loaders(Config.fromfile(path))))
    assert [k for k, _ in moved] == [k for k, _ in pairs]
    for (key, before), (_, after) in zip(pairs, moved):
        expected = root + before[len('data') :] if before.startswith('data/') else before
        assert after == expected, (key, before, after)


def test_no_config_or_readme_points_outside_the_repository():
    files = [
        p
        for p in glob.glob(osp.join(REPO, 'configs', '**', '*'), recursive=True)
        + glob.glob(osp.join(REPO, 'projects', '*', 'configs', '*'))
        if osp.isfile(p)
    ]
    assert len(files) > len(CONFIGS)
    for path in files:
        text = open(path, encoding='utf-8').read()
        # spelt in pieces so that this file does not name them itself
        for word in ('../' + 'shared', 'shared/' + 'data', 'METHOD' + '.md', 'ENV' + '.md'):
            assert word not in text, f'{osp.relpath(path, REPO)} mentions {word}'


def test_recipe_is_the_papers():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'mcf', 'pretrain.py'))
    m = cfg.model
    assert m.type == 'MCF' and m.backbone.arch == 'base' and m.backbone.img_size == 224
    assert m.backbone.patch_size == 16 and m.backbone.mask_ratio == 0.75
    assert (m.neck.decoder_embed_dim, m.neck.decoder_depth, m.neck.decoder_num_heads) == (512, 8, 16)
    assert m.target_generator.out_indices == (2, 5, 8, 11)
    assert m.head.loss_weight == 1000.0 and m.contrast_head.temperature == 0.2
    assert (m.projector.in_channels, m.projector.hid_channels, m.projector.out_channels) == (768, 4096, 256)
    assert m.projector.last_bn and not m.projector.last_bn_affine and not m.contrast_head.predictor.last_bn
    assert m.momentum == 0.99
    # faithful switches for the original code's oddities
    assert m.ema_update == 'micro_step' and m.head.norm_dim == 'token' and m.symmetric is False
    # 8 GPUs x 64 x accumulation 8 = 4096; lr = 1.5e-4 x 4096 / 256
    assert cfg.train_dataloader.batch_size * 8 * cfg.optim_wrapper.accumulative_counts == 4096
    assert 'accumulative_counts' not in m  # one source of truth: the optim wrapper's
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'AdamW' and opt.lr == pytest.approx(1.5e-4 * 4096 / 256) and opt.betas == (0.9, 0.95)
    assert opt.weight_decay == 0.05 and cfg.optim_wrapper.type == 'AmpOptimWrapper'
    pw = cfg.optim_wrapper.paramwise_cfg
    assert pw.bias_decay_mult == pw.norm_decay_mult == pw.flat_decay_mult == 0.0
    (sched,) = cfg.param_scheduler  # 1 warm-up epoch from 0, cosine to 0 at 16, set once per accumulation window
    assert (sched.type, sched.warmup_epochs, sched.epochs, sched.eta_min) == ('WindowedWarmupCosineLR', 1, 16, 0.0)
    assert sched.window == cfg.optim_wrapper.accumulative_counts and sched.convert_to_iter_based
    assert cfg.train_cfg.max_epochs == 16
    pipeline = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert pipeline == ['Resize', 'RandomFlip', 'PackInputs']
