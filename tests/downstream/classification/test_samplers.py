"""ClassBalancedSampler: sampled class frequencies approach uniform, draws are fixed by (seed, epoch), and the
ranks' shards are disjoint slices of one epoch order (as mmengine's DefaultSampler distributes)."""

import json
import math
import os

import numpy as np
import pytest
import torch.multiprocessing as mp
from mmengine.dataset import DefaultSampler

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures.dist import free_port
from mcf_mm.downstream.classification import samplers
from mcf_mm.downstream.classification.samplers import ClassBalancedSampler
from mcf_mm.registry import DATA_SAMPLERS

COUNTS = [600, 60, 6, 30]  # imbalanced classes 0..3


class LabelledDataset:
    """Only what a sampler sees: a length and each sample's label (mmpretrain's get_gt_labels)."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def __len__(self):
        return len(self.labels)

    def get_gt_labels(self):
        return self.labels


class InfoDataset:
    """An mmengine-style dataset without get_gt_labels: labels come from get_data_info."""

    def __init__(self, labels):
        self.labels = np.asarray(labels)

    def __len__(self):
        return len(self.labels)

    def get_data_info(self, i):
        return dict(gt_label=int(self.labels[i]))


def _labels(shuffle_seed=1):
    labels = np.concatenate([np.full(n, c) for c, n in enumerate(COUNTS)])
    return np.random.default_rng(shuffle_seed).permutation(labels)


def _as_world(monkeypatch, rank, world_size):
    monkeypatch.setattr(samplers, 'get_dist_info', lambda: (rank, world_size))


def test_class_frequencies_approach_uniform():
    labels = _labels()
    sampler = ClassBalancedSampler(LabelledDataset(labels), seed=3)
    assert len(sampler) == len(labels)  # epoch length = dataset length
    draws = []
    for epoch in range(30):
        sampler.set_epoch(epoch)
        draws += list(sampler)
    m = len(draws)
    freq = np.bincount(labels[draws], minlength=len(COUNTS)) / m
    # each class p = 1/4 per draw; binomial sd of a frequency = sqrt(p (1 - p) / m) ~ 0.0033 for m = 20,880;
    # tolerance 5 sd (the natural frequencies are 0.86 / 0.09 / 0.009 / 0.04)
    sd = math.sqrt(0.25 * 0.75 / m)
    assert np.all(np.abs(freq - 0.25) < 5 * sd), freq
    # within the rarest class (6 samples) each sample is drawn equally often: expected m / (4 * 6) each
    rare = np.flatnonzero(labels == 2)
    hits = np.array([draws.count(i) for i in rare])
    p = 1 / (4 * 6)
    assert np.all(np.abs(hits - m * p) < 5 * math.sqrt(m * p * (1 - p))), hits


def test_num_samples_sets_the_epoch_length_and_labels_may_come_from_data_info():
    labels = _labels()
    sampler = ClassBalancedSampler(InfoDataset(labels), num_samples=50, seed=0)
    idx = list(sampler)
    assert len(sampler) == len(idx) == 50 and all(0 <= i < len(labels) for i in idx)


def test_draws_depend_on_seed_and_epoch_only():
    ds = LabelledDataset(_labels())
    a, b, c = (ClassBalancedSampler(ds, seed=s) for s in (7, 7, 8))
    assert list(a) == list(b) and list(a) != list(c)
    first = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) == list(b) != first
    a.set_epoch(0)
    assert list(a) == first


@pytest.mark.parametrize('world_size', [2, 3])
def test_ranks_take_disjoint_shards_of_one_epoch_order(monkeypatch, world_size):
    ds = LabelledDataset(_labels())
    n = len(ds)  # 696: not a multiple of 3 -> rounded up
    per_rank = math.ceil(n / world_size)
    _as_world(monkeypatch, 0, 1)
    full = ClassBalancedSampler(ds, num_samples=per_rank * world_size, seed=5)
    full.set_epoch(4)
    order = list(full)
    shards = []
    for rank in range(world_size):
        _as_world(monkeypatch, rank, world_size)
        s = ClassBalancedSampler(ds, seed=5)
        s.set_epoch(4)
        shards.append(list(s))
        assert len(s) == per_rank == len(shards[-1])
    for rank, shard in enumerate(shards):  # rank r holds positions r, r + W, ... of the common order
        assert shard == order[rank::world_size]
    positions = [set(range(r, per_rank * world_size, world_size)) for r in range(world_size)]
    assert all(not (positions[i] & positions[j]) for i in range(world_size) for j in range(i + 1, world_size))


def _worker(rank: int, port: int, out_dir: str) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    np.random.seed(100 + rank)  # the ranks' own generators differ: the seed must come from the sync
    sampler = ClassBalancedSampler(LabelledDataset(_labels()), seed=None)
    sampler.set_epoch(2)
    with open(os.path.join(out_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(dict(seed=int(sampler.seed), shard=list(sampler), rank=sampler.rank, world=sampler.world_size), f)
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_ranks_share_the_seed_and_split_one_order(tmp_path):
    mp.start_processes(_worker, args=(free_port(), str(tmp_path)), nprocs=2, join=True, start_method='spawn')
    res = [json.loads((tmp_path / f'rank{r}.json').read_text()) for r in range(2)]
    assert [(r['rank'], r['world']) for r in res] == [(0, 2), (1, 2)]
    assert res[0]['seed'] == res[1]['seed']
    per_rank = math.ceil(len(_labels()) / 2)
    assert len(res[0]['shard']) == len(res[1]['shard']) == per_rank
    full = ClassBalancedSampler(LabelledDataset(_labels()), num_samples=2 * per_rank, seed=res[0]['seed'])
    full.set_epoch(2)
    order = list(full)
    assert res[0]['shard'] == order[0::2] and res[1]['shard'] == order[1::2]


def test_built_from_the_registry_with_the_runner_seed():
    ds = LabelledDataset(_labels())
    s = DATA_SAMPLERS.build(dict(type='ClassBalancedSampler'), default_args=dict(dataset=ds, seed=11))
    assert isinstance(s, ClassBalancedSampler) and s.seed == 11
    assert not isinstance(s, DefaultSampler)


def test_refusals():
    with pytest.raises(TypeError, match='single-label'):
        ClassBalancedSampler(_MultiLabel(), seed=0)
    with pytest.raises(ValueError, match='num_samples=0'):
        ClassBalancedSampler(LabelledDataset([0, 1]), num_samples=0, seed=0)
    with pytest.raises(TypeError, match='get_gt_labels'):
        ClassBalancedSampler(list(range(3)), seed=0)


class _MultiLabel:
    """Multi-label gt_label (lists of positive indices, mmpretrain's MultiLabelDataset convention)."""

    def __len__(self):
        return 2

    def get_gt_labels(self):
        return [[0, 1], [1]]
