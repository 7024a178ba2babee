"""ShardSampler: per-rank blocks of a seeded shard-then-sample order, no duplicates, skip; drop_bad_collate."""

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from mmengine.registry import DefaultScope
from torch.utils.data import DataLoader

import mcf_mm.datasets.shard_sampler as shard_sampler
from mcf_mm.datasets import ShardSampler, drop_bad_collate
from mcf_mm.registry import DATA_SAMPLERS

SIZES = [5, 1, 7, 3, 6, 4]  # samples per shard: N = 26


class ShardedIds:
    """A dataset of the sample indices themselves, grouped into shards of the given sizes."""

    def __init__(self, sizes):
        self.ids = np.repeat(np.arange(len(sizes)), sizes).astype(np.int64)  # [N]

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, idx):
        return int(idx)

    def shard_ids(self):
        return self.ids.copy()


def spec_order(sizes, seed, epoch):
    """The order the interface defines, written out: shards permuted by a generator seeded with seed + epoch,
    then each shard's samples (in the permuted shard order) permuted by the same generator."""
    g = torch.Generator()
    g.manual_seed(seed + epoch)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = []
    for s in torch.randperm(len(sizes), generator=g).tolist():
        out += [int(starts[s]) + int(j) for j in torch.randperm(sizes[s], generator=g)]
    return out


def samplers(dataset, world, monkeypatch, **kwargs):
    """One ShardSampler per rank of a world of ``world`` processes."""
    out = []
    for rank in range(world):
        monkeypatch.setattr(shard_sampler, 'get_dist_info', lambda r=rank: (r, world))
        out.append(ShardSampler(dataset, **kwargs))
    return out


@pytest.mark.parametrize('world', [1, 2, 3, 4])
def test_ranks_partition_the_first_world_n_samples_of_the_epoch_order(world, monkeypatch):
    ds = ShardedIds(SIZES)
    n_total = sum(SIZES)
    n = n_total // world
    ranks = samplers(ds, world, monkeypatch, seed=7)
    for epoch in range(3):
        for s in ranks:
            s.set_epoch(epoch)
        blocks = [list(s) for s in ranks]
        assert [len(b) for b in blocks] == [n] * world == [len(s) for s in ranks]
        flat = [i for b in blocks for i in b]
        assert len(set(flat)) == len(flat)  # disjoint, and no repeat inside a block
        order = spec_order(SIZES, 7, epoch)
        assert flat == order[: world * n]  # rank r holds S[r n:(r + 1) n], in order
        assert sorted(order) == list(range(n_total))  # S is a permutation of the dataset
        for b in blocks:  # each shard appears as one run inside a block
            shards = ds.ids[b]
            runs = 1 + int(np.count_nonzero(shards[1:] != shards[:-1]))
            assert runs == len(set(shards.tolist()))


def test_order_is_seed_deterministic_and_differs_per_epoch_and_seed(monkeypatch):
    ds = ShardedIds(SIZES)
    a, b = samplers(ds, 1, monkeypatch, seed=3)[0], samplers(ds, 1, monkeypatch, seed=3)[0]
    other = samplers(ds, 1, monkeypatch, seed=4)[0]
    per_epoch = []
    for epoch in range(4):
        for s in (a, b, other):
            s.set_epoch(epoch)
        assert list(a) == list(b) == list(a)  # same seed, same epoch: same order, every time it is iterated
        assert list(a) != list(other)
        per_epoch.append(tuple(a))
    assert len(set(per_epoch)) == 4


def test_skip_starts_the_next_iteration_at_the_tail_once(monkeypatch):
    ds = ShardedIds(SIZES)
    ranks = samplers(ds, 2, monkeypatch, seed=11)
    for s in ranks:
        s.set_epoch(2)
    full = [list(s) for s in ranks]
    for k in (0, 1, 5, 13):
        for s, block in zip(ranks, full):
            s.skip(k)
            assert list(s) == block[k:]
            assert list(s) == block  # one shot
            assert len(s) == len(block) == 13
    ranks[0].skip(4)
    ranks[0].set_epoch(3)  # skip is kept across set_epoch and applies to the next epoch's order
    assert list(ranks[0]) == spec_order(SIZES, 11, 3)[4:13]
    with pytest.raises(ValueError, match='cannot skip 14'):
        ranks[0].skip(14)


def test_dataloader_workers_get_disjoint_batches_in_the_rank_order(monkeypatch):
    ds = ShardedIds(SIZES)
    for s in samplers(ds, 2, monkeypatch, seed=5):
        s.set_epoch(1)
        loader = DataLoader(ds, batch_size=3, sampler=s, num_workers=2, collate_fn=list)
        seen = [i for batch in loader for i in batch]
        assert seen == list(s) and len(set(seen)) == len(seen)
        s.skip(6)  # two batches done: the DataLoader yields the remaining ones only
        assert [i for batch in loader for i in batch] == list(s)[6:]


def test_without_shuffle_or_shard_ids(monkeypatch):
    ds = ShardedIds(SIZES)
    ranks = samplers(ds, 3, monkeypatch, shuffle=False, seed=0)
    assert [list(s) for s in ranks] == [list(range(r * 8, (r + 1) * 8)) for r in range(3)]

    plain = list(range(10))  # no shard_ids(): one shard, so the order is one permutation of all samples
    (s,) = samplers(plain, 1, monkeypatch, seed=2)
    g = torch.Generator()
    g.manual_seed(2)
    torch.randperm(1, generator=g)  # the (single) shard's permutation is drawn first
    assert list(s) == torch.randperm(10, generator=g).tolist()


def test_seed_none_is_drawn_and_shared_and_built_through_the_registry(monkeypatch):
    monkeypatch.setattr(shard_sampler, 'sync_random_seed', lambda: 1234)
    monkeypatch.setattr(shard_sampler, 'get_dist_info', lambda: (0, 1))
    with DefaultScope.overwrite_default_scope('mcf_mm'):  # whatever scope earlier tests left as default
        s = DATA_SAMPLERS.build(dict(type='ShardSampler', dataset=ShardedIds(SIZES)))
    assert isinstance(s, ShardSampler) and s.seed == 1234 and s.seed_drawn and s.num_shards == len(SIZES)
    assert list(s) == spec_order(SIZES, 1234, 0)


def test_bad_set_ups_are_refused(monkeypatch):
    monkeypatch.setattr(shard_sampler, 'get_dist_info', lambda: (0, 1))
    with pytest.raises(ValueError, match='round_up'):
        ShardSampler(ShardedIds(SIZES), seed=0, round_up=True)
    unsorted = ShardedIds(SIZES)
    unsorted.ids = unsorted.ids[::-1].copy()
    with pytest.raises(ValueError, match='non-decreasing'):
        ShardSampler(unsorted, seed=0)
    monkeypatch.setattr(shard_sampler, 'get_dist_info', lambda: (0, 4))
    with pytest.raises(ValueError, match='3 samples, fewer than the 4 processes'):
        ShardSampler(ShardedIds([3]), seed=0)


def test_drop_bad_collate_removes_none_and_refuses_an_all_bad_batch():
    a = dict(x=torch.arange(3), idx=0)
    b = dict(x=torch.arange(3) + 10, idx=2)
    out = drop_bad_collate([None, a, None, b])
    want = default_collate([a, b])
    assert torch.equal(out['x'], want['x']) and out['x'].shape == (2, 3)
    assert list(out['idx']) == [0, 2]
    with pytest.raises(RuntimeError, match='all 3 samples'):
        drop_bad_collate([None, None, None])


def splitmix64(x: int) -> int:
    """SplitMix64's finaliser, written with Python integers (the reference for the vectorised one)."""
    m = (1 << 64) - 1
    x = (x + 0x9E3779B97F4A7C15) & m
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & m
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & m
    return x ^ (x >> 31)


def test_sample_seeds_pairs_depend_on_seed_epoch_and_index_only(monkeypatch):
    from mcf_mm.datasets import sample_seeds

    ds = ShardedIds(SIZES)
    for epoch in (0, 3):
        one = samplers(ds, 1, monkeypatch, seed=7, sample_seeds=True)[0]
        one.set_epoch(epoch)
        pairs = list(one)
        assert [i for i, _ in pairs] == spec_order(SIZES, 7, epoch)  # the same order, each index with a seed
        for i, s in pairs:
            assert s == splitmix64(splitmix64(splitmix64(7) ^ epoch) ^ i) & 0xFFFFFFFF
        assert sample_seeds(7, epoch, [i for i, _ in pairs]).tolist() == [s for _, s in pairs]
        # another world size gives a sample the same seed; a skip yields the tail of the same pairs
        two = samplers(ds, 2, monkeypatch, seed=7, sample_seeds=True)
        for s in two:
            s.set_epoch(epoch)
        seeds = dict(pairs)
        assert all(seeds[i] == s for r in two for i, s in r)
        two[1].skip(4)
        tail, whole = list(two[1]), list(two[1])
        assert tail == whole[4:]
    assert len({s for _, s in pairs}) == len(pairs)  # distinct seeds within the epoch
    monkeypatch.setattr(shard_sampler, 'get_dist_info', lambda: (0, 1))
    a, b = ShardSampler(ds, seed=7, sample_seeds=True), ShardSampler(ds, seed=7, sample_seeds=True)
    b.set_epoch(1)
    assert dict(a) != dict(b)  # a new epoch draws new seeds for the same samples


class RandomDraws:
    """A sharded dataset whose samples are random draws (python, numpy, torch), with SampleSeededDataset's
    delegated attributes."""

    metainfo = dict(name='draws')

    def __init__(self):
        self.inner_ids = ShardedIds(SIZES)
        self.skip_counter = object()
        self.num_skipped = 3

    def __len__(self):
        return len(self.inner_ids)

    def shard_ids(self):
        return self.inner_ids.shard_ids()

    def __getitem__(self, idx):
        import random

        return int(idx), random.random(), float(np.random.rand()), float(torch.rand(()))


def _seeded_draws(seed):
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return random.random(), float(np.random.rand()), float(torch.rand(()))


@pytest.mark.parametrize('workers', [0, 2])
def test_sample_seeded_dataset_reads_each_sample_with_its_seed(workers, monkeypatch):
    from mcf_mm.datasets import SampleSeededDataset
    from mcf_mm.engine.hooks.skipped_images_hook import find_skip_counters

    inner = RandomDraws()
    ds = SampleSeededDataset(inner)
    assert len(ds) == 26 and ds.metainfo == {'name': 'draws'} and ds.num_skipped == 3
    assert np.array_equal(ds.shard_ids(), inner.shard_ids()) and find_skip_counters(ds) == [inner.skip_counter]
    monkeypatch.setattr(shard_sampler, 'get_dist_info', lambda: (0, 1))
    sampler = ShardSampler(ds, seed=5, sample_seeds=True)
    sampler.set_epoch(2)
    pairs = list(sampler)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    loader = DataLoader(ds, batch_size=4, sampler=sampler, num_workers=workers, collate_fn=list)
    got = [row for batch in loader for row in batch]
    assert [row[0] for row in got] == [i for i, _ in pairs]
    for (i, seed), row in zip(pairs, got):
        assert row[1:] == pytest.approx(_seeded_draws(seed), abs=0)  # the draws of a fresh seed(seed)
    if workers == 0:  # read in the main process: its RNG is as before the reads (apart from the loader's own draw)
        torch.set_rng_state(before)
        torch.empty((), dtype=torch.int64).random_()  # the DataLoader iterator's base seed
        expected = torch.rand(3)
        torch.manual_seed(123)
        list(DataLoader(ds, batch_size=4, sampler=sampler, num_workers=0, collate_fn=list))
        assert torch.equal(torch.rand(3), expected)
    assert ds[7][0] == 7  # a plain index reads without seeding
