"""The backbone benchmark: its task table builds every config for any backbone; protocols freeze and subset as
defined; a tiny end-to-end benchmark of two tasks x two protocols on fixtures writes agreeing results.md /
results.json, equals tools/test.py on the saved checkpoint, and reuses finished runs when resumed."""

import dataclasses
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import MODELS, DefaultScope

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures.alignment import write_helen
from mcf_fixtures.tiny import REPO, TINY_ARCH, save_tiny_teacher
from mcf_fixtures.utkface import write_utkface
from mcf_mm.benchmark import (
    SUITES,
    FractionSubset,
    Protocol,
    derive_config,
    get_tasks,
    make_protocols,
    parse_backbone,
    plan_runs,
    run_all,
    subset_indices,
    write_reports,
)
from mcf_mm.benchmark.backbones import map_out_indices
from mcf_mm.benchmark.tasks import set_epochs
from mcf_mm.checkpoint import to_vit_state_dict

ALL_PROTOCOLS = [Protocol('finetune'), Protocol('linear'), Protocol('lowdata', 0.5)]


@pytest.fixture(autouse=True)
def _skip_yapf_config_formatting(monkeypatch, request):
    """Fast config text where nothing is dumped (the end-to-end run dumps configs, so it keeps yapf)."""
    if 'end_to_end' not in request.node.name:
        monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))


@pytest.fixture(scope='module')
def tiny_ckpt(tmp_path_factory) -> str:
    """A tiny ViT (2 blocks, 32 dims, patch 8) in mmpretrain keys, as a pre-training run would leave it."""
    return save_tiny_teacher(str(tmp_path_factory.mktemp('ckpt') / 'tiny.pth'))


def _timm_copy(src: str, dst: str) -> str:
    from mcf_mm.benchmark.foreign import save_as_timm

    save_as_timm(src, dst)
    return dst


def _build_model(cfg: Config):
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mcf_mm')):
        model = MODELS.build(cfg.model)
        model.init_weights()
    return model


@pytest.mark.parametrize('suite', sorted(SUITES))
def test_task_table_builds_every_config_for_each_backbone_and_protocol(suite, tiny_ckpt, tmp_path):
    tiny = parse_backbone(f'tiny={tiny_ckpt}')
    # the file records no head count: width // 64 (at least 1), the reader's default
    assert tiny.vit_kwargs['arch'] == dict(TINY_ARCH, num_heads=1) and tiny.vit_kwargs['patch_size'] == 8
    for task in SUITES[suite]:
        for protocol in ALL_PROTOCOLS:
            cfg = derive_config(task, tiny, protocol, 0, str(tmp_path))
            bb = cfg.model.backbone
            assert bb.arch == dict(TINY_ARCH, num_heads=1) and bb.patch_size == 8
            assert bb.init_cfg.checkpoint == tiny_ckpt
            if protocol.name == 'lowdata' or (suite == 'paper' and protocol.name == 'finetune'):
                continue  # the model equals the fine-tuning one (built for the cpu suite): skip the time
            model = _build_model(cfg)  # the tiny arch: fast even for the ViT-B/16 configs
            vit = model.backbone
            assert vit.embed_dims == 32 and len(vit.layers) == 2
            frozen = [n for n, p in vit.named_parameters() if not p.requires_grad]
            if protocol.name == 'linear':
                assert frozen == [n for n, _ in vit.named_parameters()], 'frozen backbone: no parameter trains'
            else:
                assert not [n for n in frozen if n != 'pos_embed']
        if suite == 'cpu' and task.trained_by is None:  # random init: the configs' own (demo) architecture
            cfg = derive_config(task, parse_backbone('random'), Protocol('finetune'), 0, str(tmp_path))
            assert cfg.model.backbone.init_cfg is None
            _build_model(cfg)


def test_pretrained_weights_reach_the_backbone(tiny_ckpt, tmp_path):
    """The derived config loads the checkpoint's tensors (all but the resized position embedding) unchanged."""
    task = get_tasks('cpu', ['utkface-age'])[0]
    cfg = derive_config(task, parse_backbone(tiny_ckpt), Protocol('finetune'), 0, str(tmp_path))
    vit = _build_model(cfg).backbone
    ref = {k[9:]: v for k, v in torch.load(tiny_ckpt)['state_dict'].items()}
    own = vit.state_dict()
    same = [k for k in ref if k != 'pos_embed' and k in own and torch.equal(own[k], ref[k])]
    assert len(same) == len([k for k in ref if k != 'pos_embed' and k in own]) > 20


def test_arch_follows_the_checkpoint_keeping_the_token_grid(tiny_ckpt, tmp_path):
    """Patch 8 instead of the config's 4: the ViT input doubles so the heads see the same token grid; the
    output blocks keep their relative depth (4 blocks -> 2)."""
    helen = get_tasks('cpu', ['helen29'])[0]
    base = Config.fromfile(osp.join(REPO, helen.config)).model.backbone
    cfg = derive_config(helen, parse_backbone(tiny_ckpt), Protocol('finetune'), 0, str(tmp_path))
    bb = cfg.model.backbone
    assert bb.resize_input // 8 == base.resize_input // base.patch_size
    assert bb.img_size // 8 == base.img_size // base.patch_size
    assert bb.out_indices == (0, 0, 1, 1) and cfg.model.neck.embed_dim == 32 and cfg.model.head.in_channels == 32
    assert map_out_indices((3, 5, 7, 11), 12, 4) == (0, 1, 2, 3)  # ViT-B/16's pyramid blocks on a 4-block ViT


def test_foreign_keys_give_the_same_backbone(tiny_ckpt, tmp_path):
    """A timm-named copy of the same weights is read as timm and derives the same run config."""
    copy = _timm_copy(tiny_ckpt, str(tmp_path / 'timm.pth'))
    a, b = parse_backbone(tiny_ckpt), parse_backbone(copy)
    raw = torch.load(copy)
    assert set(raw) == {'model'} and any(k.startswith('blocks.1.mlp.fc2.') for k in raw['model'])
    # the reader maps the timm names back onto exactly the original tensors
    back, fmt, _ = to_vit_state_dict(raw)
    orig = {k[9:]: v for k, v in torch.load(tiny_ckpt)['state_dict'].items()}
    assert fmt == 'timm' and back.keys() == orig.keys() and all(torch.equal(back[k], orig[k]) for k in orig)
    assert (a.fmt, b.fmt) == ('mmpretrain', 'timm') and a.vit_kwargs == b.vit_kwargs
    task = get_tasks('cpu', ['utkface-gender'])[0]
    va = _build_model(derive_config(task, a, Protocol('finetune'), 0, str(tmp_path))).backbone.state_dict()
    vb = _build_model(derive_config(task, b, Protocol('finetune'), 0, str(tmp_path))).backbone.state_dict()
    assert va.keys() == vb.keys() and all(torch.equal(va[k], vb[k]) for k in va)


def test_lowdata_subsets_are_deterministic_and_nested(tmp_path):
    n = 1000
    a, b = subset_indices(n, 0.1, 3), subset_indices(n, 0.1, 3)
    assert np.array_equal(a, b) and len(a) == 100 and len(set(a.tolist())) == 100
    assert set(subset_indices(n, 0.01, 3)) <= set(a) <= set(subset_indices(n, 0.5, 3))  # nested per seed
    assert not np.array_equal(a, subset_indices(n, 0.1, 4))  # another seed, another subset
    assert len(subset_indices(7, 0.01, 0)) == 1
    assert np.array_equal(subset_indices(n, 1.0, 5), np.arange(n))
    with pytest.raises(ValueError, match='fraction'):
        subset_indices(n, 0.0, 0)
    # the wrapper over a real dataset: its items are the inner dataset's items at those indices
    write_utkface(str(tmp_path / 'utk'), n=30)
    inner = dict(type='UTKFaceDataset', data_root=str(tmp_path / 'utk'), split='train', task='gender', pipeline=[])
    with DefaultScope.overwrite_default_scope('mcf_mm'):
        from mmengine.registry import DATASETS

        full = DATASETS.build(inner)
        sub = FractionSubset(inner, 0.5, seed=1)
    idx = subset_indices(len(full), 0.5, 1)
    assert len(sub) == len(idx)
    assert [sub[i]['img_path'] for i in range(len(sub))] == [full[int(i)]['img_path'] for i in idx]
    assert sub.metainfo == full.metainfo


def test_lowdata_wraps_below_repeat_dataset(tmp_path):
    fasseg = get_tasks('cpu', ['fasseg-v2'])[0]
    cfg = derive_config(fasseg, parse_backbone('random'), Protocol('lowdata', 0.3), 2, str(tmp_path))
    ds = cfg.train_dataloader.dataset
    assert ds.type == 'RepeatDataset' and (ds.dataset._scope_, ds.dataset.type) == ('mcf_mm', 'FractionSubset')
    assert (ds.dataset.fraction, ds.dataset.seed, ds.dataset.dataset.type) == (0.3, 2, 'FASSEGDataset')


def test_lowdata_scales_the_ema_window(tmp_path):
    """Same epochs, fraction x the iterations: the EMA momentum grows by 1 / fraction (capped at 1)."""
    helen = get_tasks('cpu', ['helen29'])[0]
    full = derive_config(helen, parse_backbone('random'), Protocol('finetune'), 0, str(tmp_path))
    (ema,) = [h for h in full.custom_hooks if h.type == 'EMAHook']
    for fraction in (0.25, 0.005):
        low = derive_config(helen, parse_backbone('random'), Protocol('lowdata', fraction), 0, str(tmp_path))
        (lema,) = [h for h in low.custom_hooks if h.type == 'EMAHook']
        assert lema.momentum == pytest.approx(min(1.0, ema.momentum / fraction))


def test_set_epochs_scales_the_schedule():
    cfg = Config(
        dict(
            train_cfg=dict(max_epochs=4, val_interval=4),
            param_scheduler=[
                dict(type='LinearLR', begin=0, end=1),
                dict(type='CosineAnnealingLR', begin=1, end=4),
                dict(type='MultiStepLR', begin=0, end=4, milestones=[3]),
            ],
            default_hooks=dict(checkpoint=dict(interval=4)),
        )
    )
    set_epochs(cfg, 2)
    s = cfg.param_scheduler
    assert (s[0].begin, s[0].end, s[1].begin, s[1].end, s[2].end, s[2].milestones) == (0, 1, 1, 2, 2, [2])
    it = Config(
        dict(
            train_cfg=dict(max_epochs=4, val_interval=4),
            param_scheduler=[
                dict(type='LinearLR', begin=0, end=1, convert_to_iter_based=True),
                dict(type='CosineAnnealingLR', begin=1, end=4, convert_to_iter_based=True),
            ],
            default_hooks=dict(),
        )
    )
    set_epochs(it, 1)  # in iterations: the warm-up stays a quarter of the run
    assert [(p.begin, p.end) for p in it.param_scheduler] == [(0, 0.25), (0.25, 1.0)]
    assert (
        cfg.train_cfg.max_epochs == 2 and cfg.train_cfg.val_interval == 2 and cfg.default_hooks.checkpoint.interval == 2
    )


def test_bad_inputs_fail_before_any_run(tmp_path):
    with pytest.raises(ValueError, match='unknown task'):
        get_tasks('cpu', ['nope'])
    with pytest.raises(ValueError, match='suite'):
        get_tasks('gpu')
    with pytest.raises(ValueError, match='fraction'):
        make_protocols(['lowdata'], [1.5])
    with pytest.raises(ValueError, match='protocol'):
        make_protocols(['probe'], [])
    with pytest.raises(FileNotFoundError, match='random'):
        parse_backbone(str(tmp_path / 'missing.pth'))
    bad = tmp_path / 'text.pth'
    torch.save({'state_dict': {'encoder.layer.0.weight': torch.zeros(2)}}, bad)
    with pytest.raises(Exception, match='BERT|unknown checkpoint format'):
        parse_backbone(str(bad))


def _tiny_task(task):
    """The suite's task with fixture-sized settings on top of its own adjustment."""

    def adjust(cfg):
        if task.adjust is not None:
            task.adjust(cfg)
        set_epochs(cfg, 1)
        cfg.train_cfg.val_interval = 1
        cfg.default_hooks.logger.interval = 1
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[loader].batch_size = 2 if task.family != 'classification' else 1  # >= 1 warm-up iteration
            if cfg[loader].dataset.type == 'Helen29MatDataset':
                cfg[loader].dataset.test_ratio = 1 / 3

    return dataclasses.replace(task, adjust=adjust)


def _md_cells(md: str):
    """{(backbone, protocol label): [cell strings]} of results.md's first table."""
    table = md.split('## Final-epoch')[1].split('##')[0]
    rows = {}
    for line in table.strip().splitlines()[3:]:
        cells = [c.strip() for c in line.strip('|').split('|')]
        rows[(cells[0], cells[1])] = cells[2:]
    return rows


@pytest.mark.slow
def test_end_to_end_two_tasks_two_protocols_resumes(tiny_ckpt, tmp_path):
    roots = dict(helen29=str(tmp_path / 'helen29'), utkface=str(tmp_path / 'utkface'))
    write_helen(roots['helen29'])
    write_utkface(roots['utkface'], n=60)
    tasks = [_tiny_task(t) for t in get_tasks('cpu', ['helen29', 'utkface-gender'])]
    backbones = [parse_backbone(f'tiny={tiny_ckpt}')]
    protocols = make_protocols(['linear', 'lowdata'], [0.5])
    work = str(tmp_path / 'bench')
    runs = plan_runs(backbones, tasks, protocols, [0, 1], work)
    assert len(runs) == 2 * 2 * 2
    logs = []
    results = run_all(runs, jobs=2, threads=1, workers=0, data_root=roots, log=logs.append, interval=5)
    assert len(results) == 8 and all(r['ok'] for r in results), results
    assert any(re.match(r'\[bench\] done \d+/8 \| running \d+ \| left \d+ \| elapsed', m) for m in logs)
    data = write_reports(work, runs, backbones, protocols, tasks, '# test', dict(suite='cpu'))
    # results.json holds each run's own test metric ...
    for rec in data['runs']:
        run = next(r for r in runs if r.work_dir == rec['work_dir'])
        with open(run.metrics_file(run.task)) as f:
            metrics = json.load(f)['metrics']
        key = 'NME_inter_ocular' if rec['task'] == 'helen29' else 'accuracy/top1'
        assert rec['value'] == metrics[key]
    # ... its summary is their mean and sample std, and results.md prints the same numbers
    md = open(osp.join(work, 'results.md')).read()
    rows = _md_cells(md)
    for p in protocols:
        for i, t in enumerate(tasks):
            vals = [r['value'] for r in data['runs'] if (r['protocol'], r['task']) == (p.key, t.name)]
            cell = data['summary']['tiny'][p.key][t.name]
            assert cell['mean'] == pytest.approx(np.mean(vals)) and cell['std'] == pytest.approx(np.std(vals, ddof=1))
            assert rows[('tiny', p.label)][i] == f'{np.mean(vals):.2f} ± {np.std(vals, ddof=1):.2f}'
    assert osp.isfile(osp.join(work, 'results_bars.png')) and osp.isfile(osp.join(work, 'results_lowdata.png'))
    # the in-process test equals tools/test.py on the saved last checkpoint (EMA weights included)
    run = next(r for r in runs if r.task.name == 'helen29' and r.protocol.name == 'lowdata' and r.seed == 0)
    ckpt = open(osp.join(run.work_dir, 'last_checkpoint')).read().strip()
    out = str(tmp_path / 'cli.json')
    env = dict(os.environ, OMP_NUM_THREADS='1')
    subprocess.run(
        [
            sys.executable,
            'tools/test.py',
            osp.join(run.work_dir, 'config.py'),
            ckpt,
            '--work-dir',
            str(tmp_path / 'cli'),
            '--out',
            out,
        ],
        cwd=REPO,
        check=True,
        env=env,
        capture_output=True,
    )
    cli = json.load(open(out))
    own = json.load(open(run.metrics_file(run.task)))['metrics']
    assert cli['NME_inter_ocular'] == pytest.approx(own['NME_inter_ocular'], rel=1e-5)
    # resumption: nothing reruns; a removed metrics file reruns exactly that run
    stamps = {r.work_dir: os.stat(r.metrics_file(r.task)).st_mtime_ns for r in runs}
    logs.clear()
    assert run_all(runs, jobs=2, data_root=roots, log=logs.append) == []
    assert '8 finished earlier (reused), 0 to run' in logs[0]
    os.remove(run.metrics_file(run.task))
    again = run_all(runs, jobs=1, data_root=roots, log=logs.append)
    assert [r['name'] for r in again] == [run.name]
    assert all(os.stat(r.metrics_file(r.task)).st_mtime_ns == stamps[r.work_dir] for r in runs if r is not run)


@pytest.mark.parametrize('meta', ['vit_kwargs', 'cfg'])
def test_head_count_from_the_checkpoint_record(tiny_ckpt, tmp_path, meta):
    """Weights do not hold the head count: it comes from the converter's meta or the saved training config."""
    ckpt = torch.load(tiny_ckpt)
    ckpt['meta'] = (
        dict(vit_kwargs=dict(arch=dict(TINY_ARCH)))
        if meta == 'vit_kwargs'
        else dict(cfg=f'model = dict(backbone=dict(type="FaceViT", arch={TINY_ARCH!r}))\n')
    )
    torch.save(ckpt, tmp_path / 'm.pth')
    b = parse_backbone(str(tmp_path / 'm.pth'))
    assert b.vit_kwargs['arch']['num_heads'] == TINY_ARCH['num_heads'] == 2 and b.heads_from


def test_saved_config_text_of_a_checkpoint_never_runs(tiny_ckpt, tmp_path):
    """meta.cfg comes with the checkpoint (possibly a download): it is parsed, never executed, and only its
    plain-data values are used (here the head count beside two payloads that would write a file if run)."""
    mark = tmp_path / 'ran'
    payload = f"__import__('pathlib').Path({str(mark)!r}).touch()"
    ckpt = torch.load(tiny_ckpt)
    ckpt['meta'] = dict(
        cfg=f'model = dict(backbone=dict(arch={dict(TINY_ARCH)!r}, init_cfg={payload}))\n{payload}\n'
        f'data_preprocessor = {payload}\n'
    )
    torch.save(ckpt, tmp_path / 'm.pth')
    b = parse_backbone(str(tmp_path / 'm.pth'))
    assert not mark.exists()
    assert b.vit_kwargs['arch']['num_heads'] == TINY_ARCH['num_heads'] and b.heads_from
    ckpt['meta'] = dict(cfg='model = dict(backbone=dict(arch=' * 5000 + ')')  # unreadable: no hints, no crash
    torch.save(ckpt, tmp_path / 'deep.pth')
    assert parse_backbone(str(tmp_path / 'deep.pth')).heads_from == ''


def test_clip_style_checkpoint_builds_every_cpu_task(tmp_path):
    """A FaRL/CLIP-style ViT (pre-norm, no patch bias, QuickGELU) as mcf_mm's FaRL runs save it: the task
    configs take its style, its recorded head count and its CLIP normalisation."""
    from mcf_mm.checkpoint import CLIP_MEAN, clip_style_vit_kwargs
    from mcf_mm.models.backbones import FaceViT

    torch.manual_seed(0)
    vit = FaceViT(arch=dict(TINY_ARCH), img_size=32, patch_size=4, **clip_style_vit_kwargs())
    clip_pre = dict(type='SelfSupDataPreprocessor', mean=[255 * m for m in CLIP_MEAN], std=[60.0] * 3)
    meta_cfg = f'model = dict(data_preprocessor={clip_pre!r}, backbone=dict(arch={dict(TINY_ARCH)!r}))\n'
    path = str(tmp_path / 'farl.pth')
    torch.save(
        {'state_dict': {'backbone.' + k: v for k, v in vit.state_dict().items()}, 'meta': {'cfg': meta_cfg}}, path
    )
    b = parse_backbone(path)
    assert b.vit_kwargs['pre_norm'] and b.vit_kwargs['arch']['num_heads'] == 2 and b.norm[0] == clip_pre['mean']
    for task in SUITES['cpu']:
        cfg = derive_config(task, b, Protocol('linear'), 0, str(tmp_path))
        assert list(cfg.model.data_preprocessor.mean) == clip_pre['mean']
        model = _build_model(cfg)
        assert model.backbone.pre_norm.__class__.__name__ == 'LayerNorm' and model.backbone.patch_size == 4
        assert not any(p.requires_grad for p in model.backbone.parameters())


def test_frozen_backbone_step_changes_only_the_head(tiny_ckpt, tmp_path):
    from mcf_mm.utils.cli import build_runner

    write_utkface(str(tmp_path / 'utkface'), n=60)
    task = _tiny_task(get_tasks('cpu', ['utkface-gender'])[0])
    cfg = derive_config(
        task,
        parse_backbone(tiny_ckpt),
        Protocol('linear'),
        0,
        str(tmp_path / 'w'),
        0,
        {'utkface': str(tmp_path / 'utkface')},
    )
    cfg.train_cfg.max_epochs = 1
    runner = build_runner(cfg)
    runner.model.init_weights()
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    backbone = [k for k in before if k.startswith('backbone.')]
    head = [k for k in before if k.startswith('head.')]
    assert backbone and all(torch.equal(before[k], after[k]) for k in backbone)
    assert any(not torch.equal(before[k], after[k]) for k in head)
