"""Shard training across ranks and workers: no sample twice in an epoch, exact skip counts, exact mid-epoch resume,
refused resumes under a changed set-up; and the shard configs."""

import os
import os.path as osp
import re
import shutil
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from torch.utils.data import DataLoader

import mcf_mm.datasets.shard_sampler as shard_sampler
from mcf_fixtures.dist import free_port
from mcf_fixtures.shard_runs import TESTS, read_records, shard_config, write_crop_shards
from mcf_mm.datasets import ShardSampler
from mcf_mm.engine import ResumableEpochBasedTrainLoop

SIZES = [8, 8, 8]  # 3 shards; 2 ranks x 12 samples, no leftover
CORRUPT = [(0, 3), (2, 5)]  # sample indices 3 and 21
WORLD, BATCH, WORKERS, EPOCHS, CKPT_EVERY, KILL_AT = 2, 3, 2, 2, 2, 6  # 4 iterations per epoch; kill mid epoch 2
SEED = 5


def spec_block(seed, epoch, rank):
    """Rank ``rank``'s samples of ``epoch`` as the interface defines them (shards permuted by a generator seeded
    with seed + epoch, then each shard's samples by the same generator; rank r takes S[r n:(r + 1) n])."""
    g = torch.Generator()
    g.manual_seed(seed + epoch)
    starts = np.concatenate([[0], np.cumsum(SIZES)[:-1]])
    order = []
    for s in torch.randperm(len(SIZES), generator=g).tolist():
        order += [int(starts[s]) + int(j) for j in torch.randperm(SIZES[s], generator=g)]
    n = sum(SIZES) // WORLD
    return order[rank * n : (rank + 1) * n]


def launch(python_exe, repo_root, config, work_dir, *extra, nproc=WORLD):
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore', PYTHONPATH=TESTS)
    train = [osp.join(repo_root, 'tools', 'train.py'), config, '--work-dir', work_dir, *extra]
    if nproc > 1:
        dist = ['-m', 'torch.distributed.run', f'--nproc_per_node={nproc}', f'--master_port={free_port()}']
        cmd = [python_exe, *dist, *train, '--launcher', 'pytorch']
    else:
        cmd = [python_exe, *train]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=repo_root)


def skip_reports(work_dir):
    """(epoch, skipped, failed reads, reads) of every 'epoch k: skipped ...' line of a run's newest log."""
    logs = sorted(osp.join(root, f) for root, _, files in os.walk(work_dir) for f in files if f.endswith('.log'))
    text = open(logs[-1]).read()
    pat = r'epoch (\d+): skipped (\d+) unreadable images \((\d+) failed reads of (\d+)'
    return [tuple(map(int, m)) for m in re.findall(pat, text)]


@pytest.fixture(scope='module')
def runs(tmp_path_factory, tiny_teacher, python_exe, repo_root):
    """An uninterrupted run, a run stopped right after the mid-epoch checkpoint of iteration KILL_AT, and its
    resume: 2 processes x 2 DataLoader workers each (gloo), every trained sample recorded per rank."""
    tmp = tmp_path_factory.mktemp('shard_runs')
    data = str(tmp / 'shards')
    records = write_crop_shards(data, SIZES, CORRUPT)
    kw = dict(max_epochs=EPOCHS, batch_size=BATCH, num_workers=WORKERS, ckpt_interval=CKPT_EVERY, seed=SEED)
    config, killing = str(tmp / 'run.py'), str(tmp / 'killing.py')
    open(config, 'w').write(shard_config(tiny_teacher, data, **kw))
    open(killing, 'w').write(shard_config(tiny_teacher, data, exit_at=KILL_AT, **kw))
    straight, killed = str(tmp / 'straight'), str(tmp / 'killed')
    out = SimpleNamespace(tmp=tmp, config=config, straight=straight, killed=killed, records=records)
    out.run_straight = launch(python_exe, repo_root, config, straight)
    out.run_killed = launch(python_exe, repo_root, killing, killed)
    out.killed_files = sorted(os.listdir(killed))
    out.killed_records = [read_records(killed, r) for r in range(WORLD)]
    frozen = str(tmp / 'at_kill')
    shutil.copytree(killed, frozen)  # the checkpoints as the stop left them, for the refused resume
    out.frozen = frozen
    out.run_resumed = launch(python_exe, repo_root, config, killed, '--resume')
    return out


@pytest.mark.slow
def test_two_ranks_two_workers_no_sample_twice_skips_exact(runs):
    assert runs.run_straight.returncode == 0, runs.run_straight.stderr[-3000:]
    bad = {r['index'] for r in runs.records if r['bad']}
    assert bad == {3, 21}
    recs = [read_records(runs.straight, r) for r in range(WORLD)]
    for epoch in range(EPOCHS):
        per_rank = [[i for e, _, _, ids in recs[r] if e == epoch for i in ids] for r in range(WORLD)]
        flat = [i for ids in per_rank for i in ids]
        assert len(flat) == len(set(flat))  # no sample twice in the epoch, across ranks and workers
        assert set(flat) == set(range(sum(SIZES))) - bad  # every readable sample once
        for r in range(WORLD):  # the rank trained its block of the epoch's order, in order, minus the bad ones
            assert per_rank[r] == [i for i in spec_block(SEED, epoch, r) if i not in bad]
    assert [ids for *_, ids in recs[0][:4]] != [ids for *_, ids in recs[0][4:]]  # a new order per epoch
    # SkippedImagesHook, summed over ranks and workers: the 2 planted samples, each read once per epoch
    assert skip_reports(runs.straight) == [(1, 2, 2, 24), (2, 2, 4, 48)]
    log = open(sorted(osp.join(d, f) for d, _, fs in os.walk(runs.straight) for f in fs if f.endswith('.log'))[-1])
    assert 'dataset length 24 (all ranks), 12 per rank per epoch.' in log.read()


@pytest.mark.slow
def test_resume_after_a_mid_epoch_checkpoint_trains_the_same_samples(runs):
    assert runs.run_killed.returncode != 0 and 'iter_6.pth' in runs.killed_files
    assert 'epoch_2.pth' not in runs.killed_files
    assert open(osp.join(runs.frozen, 'last_checkpoint')).read().strip().endswith('iter_6.pth')
    assert runs.run_resumed.returncode == 0, runs.run_resumed.stderr[-3000:]
    meta = torch.load(osp.join(runs.frozen, 'iter_6.pth'), map_location='cpu', weights_only=True)['meta']
    consumed = meta['train_sampler']['consumed_batches']
    assert (meta['epoch'], meta['iter'], consumed) == (1, KILL_AT, KILL_AT - 4)
    for r in range(WORLD):
        straight = read_records(runs.straight, r)
        before = [x for x in runs.killed_records[r] if x[1] < KILL_AT]  # what the checkpoint holds
        assert before == straight[:KILL_AT]
        after = read_records(runs.killed, r)[len(runs.killed_records[r]) :]  # lines the resumed run appended
        assert after == straight[KILL_AT:]  # same samples, same iterations, same batch indices
    # the resumed process read only the rest of epoch 2: 2 ranks x (12 - 2 x 3) samples, and met each planted
    # sample that lies there once
    tail = [i for r in range(WORLD) for i in spec_block(SEED, 1, r)[consumed * BATCH :]]
    expected_bad = len({3, 21} & set(tail))
    assert skip_reports(runs.killed) == [(2, expected_bad, expected_bad, WORLD * (12 - consumed * BATCH))]
    log = runs.run_resumed.stdout + runs.run_resumed.stderr
    assert 'Resumed in the middle of epoch 2: skipping its first 2 batches (6 samples per rank)' in log
    assert 'Restored RNG states from the checkpoint (one per rank).' in log


@pytest.mark.slow
def test_resumed_run_ends_with_the_uninterrupted_runs_weights(runs):
    """Flips seeded per sample (ShardSampler sample_seeds + SampleSeededDataset) and every rank's RNG state
    (masks) restored from the mid-epoch checkpoint: the resumed run's final weights are the uninterrupted run's."""
    assert runs.run_resumed.returncode == 0, runs.run_resumed.stderr[-3000:]
    final = f'epoch_{EPOCHS}.pth'
    a, b = (torch.load(osp.join(d, final), map_location='cpu', weights_only=True) for d in (runs.straight, runs.killed))
    assert a['state_dict'].keys() == b['state_dict'].keys() and len(a['state_dict']) > 50
    differ = [k for k in a['state_dict'] if not torch.equal(a['state_dict'][k], b['state_dict'][k])]
    assert differ == []
    ranks = torch.load(osp.join(runs.frozen, f'iter_{KILL_AT}.pth'), map_location='cpu', weights_only=True)
    assert len(ranks['rng_state_ranks']) == WORLD  # each rank's own RNG state, as plain data


@pytest.mark.slow
def test_mid_epoch_resume_under_another_world_size_is_refused(runs, python_exe, repo_root):
    ckpt = osp.join(runs.frozen, 'iter_6.pth')
    run = launch(python_exe, repo_root, runs.config, str(runs.tmp / 'one_rank'), '--resume', ckpt, nproc=1)
    assert run.returncode != 0
    err = run.stdout + run.stderr
    assert 'cannot resume in the middle of epoch 2' in err and 'world_size 2 -> 1' in err
    assert not osp.exists(osp.join(runs.tmp, 'one_rank', 'samples_rank0.txt'))  # refused before training


class _Runner:
    """What the loop uses of mmengine's Runner (in-process checks of the resume decision)."""

    def __init__(self, world_size):
        self.world_size, self.logger, self.hooks = world_size, MMLogger.get_current_instance(), []
        self.visualizer = SimpleNamespace(dataset_meta=None)

    def register_hook(self, hook):
        self.hooks.append(hook)


class _Ids:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i

    def shard_ids(self):
        return np.arange(self.n) // 4


def _loop(monkeypatch, world=1, seed=0, n=24, batch=3, sampler_cls=ShardSampler):
    monkeypatch.setattr(shard_sampler, 'get_dist_info', lambda: (0, world))
    monkeypatch.setattr(shard_sampler, 'sync_random_seed', lambda: 999)
    ds = _Ids(n)
    sampler = sampler_cls(ds, seed=seed) if sampler_cls is ShardSampler else sampler_cls(ds)
    loader = DataLoader(ds, batch_size=batch, sampler=sampler, collate_fn=list)
    runner = _Runner(world)
    return ResumableEpochBasedTrainLoop(runner, loader, max_epochs=3), runner


def _saved_record(loop, runner, epoch, batches_done):
    """The meta a checkpoint written after ``batches_done`` batches of ``epoch`` would hold."""
    loop._epoch, loop._batch_in_iter = epoch, batches_done - 1 if batches_done else None
    ckpt = dict(meta={})
    runner.hooks[0].before_save_checkpoint(runner, ckpt)
    loop._batch_in_iter = None
    return ckpt


def _resume(loop, runner, ckpt, iters, epoch=1):
    runner._resume = True
    runner.hooks[0].after_load_checkpoint(runner, ckpt)
    loop._epoch, loop._iter = epoch, iters  # what mmengine's Runner.resume sets from the checkpoint meta
    return loop._resume_position()


def test_resume_decision_in_process(monkeypatch):
    loop, runner = _loop(monkeypatch, world=2, seed=0)
    mid = _saved_record(loop, runner, epoch=1, batches_done=2)
    rec = mid['meta']['train_sampler']
    assert rec == dict(
        consumed_batches=2,
        epoch=1,
        epoch_batches=4,
        world_size=2,
        batch_size=3,
        seed=0,
        dataset_length=24,
        shuffle=1,
        sampler='ShardSampler',
    )
    assert all(isinstance(v, (int, str)) for v in rec.values())  # plain data for weights-only reading
    end = _saved_record(loop, runner, epoch=1, batches_done=0)
    again, runner2 = _loop(monkeypatch, world=2, seed=0)
    assert _resume(again, runner2, mid, iters=6) == 2
    # an epoch-boundary checkpoint resumes under any set-up
    other, runner3 = _loop(monkeypatch, world=1, seed=7, batch=2)
    assert _resume(other, runner3, end, iters=8, epoch=2) == 0
    for kwargs, change in [
        (dict(world=1), 'world_size 2 -> 1'),
        (dict(world=2, batch=4), 'batch_size 3 -> 4'),
        (dict(world=2, seed=1), 'seed 0 -> 1'),
        (dict(world=2, n=26), 'dataset_length 24 -> 26'),
    ]:
        changed, r = _loop(monkeypatch, **kwargs)
        with pytest.raises(RuntimeError, match=re.escape(change)):
            _resume(changed, r, mid, iters=6)
    drawn, r = _loop(monkeypatch, world=2, seed=None)  # a drawn seed (999) takes the checkpoint's
    assert _resume(drawn, r, mid, iters=6) == 2 and drawn.sampler.seed == 0
    no_record, r = _loop(monkeypatch, world=2)
    with pytest.raises(RuntimeError, match='no `meta.train_sampler` record'):
        _resume(no_record, r, dict(meta=dict(train_sampler={})), iters=6)


def test_mid_epoch_resume_runs_the_epoch_tail_through_the_dataloader(monkeypatch):
    loop, runner = _loop(monkeypatch, world=1, seed=3, n=12, batch=3)
    loop._start_batch = 2
    loop.runner.call_hook = lambda *a, **k: None
    loop.runner.model = torch.nn.Identity()
    seen = []
    loop.run_iter = lambda idx, batch: seen.append((idx, batch))
    loop._epoch = 1
    loop.sampler.set_epoch(1)
    loop.run_epoch()
    g = torch.Generator()
    g.manual_seed(3 + 1)
    order = []
    for s in torch.randperm(3, generator=g).tolist():
        order += [4 * s + int(j) for j in torch.randperm(4, generator=g)]
    assert seen == [(2, order[6:9]), (3, order[9:12])]
    # a checkpoint after the last (partial) batch of an epoch: nothing of it is left, and nothing is refused
    loop, _ = _loop(monkeypatch, world=1, seed=3, n=10, batch=3)
    loop.runner.call_hook, loop.runner.model = (lambda *a, **k: None), torch.nn.Identity()
    loop.run_iter = lambda idx, batch: seen.append((idx, batch))
    loop._start_batch = 4
    loop.run_epoch()
    assert len(seen) == 2 and loop._epoch == 1
    assert len(list(loop.dataloader)) == 4  # and the next epoch is whole again


def test_shard_configs():
    repo = osp.dirname(TESTS)
    recipe = Config.fromfile(osp.join(repo, 'configs/mcf/mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-224px.py'))
    shards = Config.fromfile(
        osp.join(repo, 'configs/mcf/mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-shards-224px.py')
    )
    base = Config.fromfile(osp.join(repo, 'configs/_base_/datasets/face_shards_224.py'))
    seeded = base.train_dataloader.to_dict()  # the base's data with per-sample seeds
    seeded['dataset'] = dict(type='SampleSeededDataset', dataset=seeded['dataset'])
    seeded['sampler'] = dict(seeded['sampler'], sample_seeds=True)
    assert shards.train_dataloader.to_dict() == seeded
    ds = base.train_dataloader.dataset
    assert ds.type == 'FaceShardDataset' and ds.pipeline == recipe.train_dataloader.dataset.pipeline
    assert base.train_dataloader.sampler.type == 'ShardSampler'
    assert base.train_dataloader.collate_fn.type == 'drop_bad_collate'
    same = ('model', 'optim_wrapper', 'param_scheduler', 'auto_scale_lr', 'randomness')
    assert all(shards[k] == recipe[k] for k in same)
    assert shards.train_cfg.type == 'ResumableEpochBasedTrainLoop'
    assert shards.train_cfg.max_epochs == recipe.train_cfg.max_epochs == 16
    (mid,) = [h for h in shards.custom_hooks if h.type == 'CrashSafeCheckpointHook']
    assert mid.by_epoch is False and mid.interval % shards.optim_wrapper.accumulative_counts == 0
    assert shards.default_hooks.checkpoint.interval == 1  # epoch checkpoints as well
    assert shards.default_hooks.checkpoint.max_keep_ckpts > 0 and mid.max_keep_ckpts > 0  # both bounded
    assert 'RNGStateHook' in [h.type for h in shards.custom_hooks]  # every rank's RNG state in each checkpoint


def test_the_loop_keeps_dataloader_seeds_out_of_the_global_rng(monkeypatch):
    """A new DataLoader iterator draws its base seed from the loop-given generator, not the global torch RNG (a
    resumed run creates one mid-epoch where the uninterrupted run does not)."""
    loop, _ = _loop(monkeypatch, world=1, seed=3, n=12, batch=3)
    assert isinstance(loop.dataloader.generator, torch.Generator)
    torch.manual_seed(11)
    expected = torch.rand(4)
    torch.manual_seed(11)
    iter(loop.dataloader)
    iter(loop.dataloader)
    assert torch.equal(torch.rand(4), expected)
