"""FaceShardDataset under torch.distributed (2 gloo processes): each rank indexes every other shard, the ranks
all-gather the parts, and every rank holds the index one process builds (rows, shard ids, counts, problems)."""

import json
import os
import os.path as osp
import pickle
import shutil
import subprocess
import sys
import tarfile

import pytest

import mcf_mm  # noqa: F401
from mcf_fixtures.dist import free_port
from mcf_fixtures.face_shards import BIG_BYTES, write_face_shards
from mcf_mm.datasets import FaceShardDataset

TESTS = osp.dirname(osp.dirname(osp.abspath(__file__)))
WORKER = osp.join(TESTS, 'mcf_fixtures', 'face_shards_dist_worker.py')
WORLD = 2


def _mixed_folder(src: str, dst: str) -> None:
    """src's shards, plus one cut inside a member and one that is not a tar at all (7 shards: the ranks get 4
    and 3)."""
    os.makedirs(dst)
    for name in sorted(os.listdir(src)):
        shutil.copy(osp.join(src, name), osp.join(dst, name))
    with tarfile.open(osp.join(src, '00000.tar')) as tar:
        cut = [m for m in tar.getmembers() if m.name.endswith('.json')][3].offset_data + 3
    with open(osp.join(src, '00000.tar'), 'rb') as f, open(osp.join(dst, '00005.tar'), 'wb') as g:
        g.write(f.read(cut))
    with open(osp.join(dst, '00006.tar'), 'wb') as g:
        g.write(b'not a tar file' * 100)


@pytest.mark.slow
def test_two_ranks_index_half_the_shards_each_and_hold_the_single_process_index(tmp_path):
    plain, mixed = str(tmp_path / 'plain'), str(tmp_path / 'mixed')
    os.makedirs(plain)
    records = write_face_shards(plain, n_shards=5, per_shard=6)
    _mixed_folder(plain, mixed)
    common = dict(max_file_bytes=BIG_BYTES, max_bad_fraction=1.0)
    first, second = osp.join(plain, '00000.tar'), osp.join(plain, '00001.tar')
    cases = {
        'all': dict(data_root=plain, face='all', **common),
        'mixed': dict(data_root=mixed, face='largest', center='landmarks', **common),
        'cropped_pool': dict(data_root=mixed, cropped=True, index_workers=2, **common),
        'alone': dict(data_root=plain, face='best', dist_index=False, **common),
        'fail': dict(data_root=plain, fail_on_shard=1, **common),
        'missing': dict(shards_per_rank=[[first, osp.join(plain, 'gone.tar')], [first, second]], **common),
        'other': dict(shards_per_rank=[[first, second], [first]], **common),
    }
    case_file, out = str(tmp_path / 'cases.json'), str(tmp_path / 'out')
    os.makedirs(out)
    json.dump(cases, open(case_file, 'w'))
    cmd = [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={WORLD}', f'--master_port={free_port()}']
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore', PYTHONPATH=TESTS)
    run = subprocess.run(cmd + [WORKER, case_file, out], env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    got = {(name, r): pickle.load(open(osp.join(out, f'{name}_rank{r}.pkl'), 'rb')) for name in cases for r in (0, 1)}

    num_shards = {'all': 5, 'mixed': 7, 'cropped_pool': 7, 'alone': 5}
    for name, n in num_shards.items():
        kwargs = {k: v for k, v in cases[name].items() if k != 'fail_on_shard'}
        single = FaceShardDataset(**kwargs)  # this process: torch.distributed is not initialised here
        assert single.num_shards == n
        for rank in range(WORLD):
            res = got[(name, rank)]
            assert res['world'] == WORLD and 'error' not in res
            assert res['rows'] == [single.get_data_info(i) for i in range(len(single))], (name, rank)
            assert res['shard_ids'] == single.shard_ids().tolist()
            assert res['stats'] == single.index_stats and res['problems'] == single.index_problems
            assert res['paths'] == single.shard_paths and res['nbytes'] == single.index_nbytes
            if name == 'alone':
                assert res['here'] == list(range(n))  # dist_index=False: every rank indexes every shard
            elif name != 'cropped_pool':
                assert res['here'] == list(range(rank, n, WORLD))  # rank r: shards r, r + 2, ...
    assert len(got[('mixed', 0)]['problems']) == 2  # the cut shard (indexed by rank 1), the non-tar (rank 0)

    # the counts are summed over the ranks' shards: the fixture's own numbers (shards 2-4 are all good)
    kinds = [r['kind'] for r in records]
    stats = got[('all', 1)]['stats']
    assert stats['keys'] == len(records) == 30
    assert (stats['no_image'], stats['bad_json'], stats['invalid_faces']) == (
        kinds.count('no_image'),
        kinds.count('bad_json'),
        kinds.count('invalid'),
    )
    thr = 0.9
    assert stats['samples'] == sum(
        sum(f['score'] >= thr and f['box'][2] > f['box'][0] for f in r['faces'])
        for r in records
        if r['kind'] not in ('no_image', 'bad_json')
    )
    assert stats['faces_below_thr'] == sum(
        sum(f['score'] < thr and f['box'][2] > f['box'][0] for f in r['faces'])
        for r in records
        if r['kind'] not in ('no_image', 'bad_json')
    )

    # a failure on one rank: that rank raises its own error, the other a RuntimeError naming it (no rank waits)
    assert got[('fail', 1)]['error'] == 'OSError: injected read error in shard 1'
    assert got[('fail', 0)]['error'].startswith('RuntimeError: indexing the shards failed on other ranks: rank 1: ')
    assert 'OSError: injected read error in shard 1' in got[('fail', 0)]['error']
    # shard lists that differ between the ranks: a file missing on rank 0, or one shard fewer on rank 1
    assert got[('missing', 0)]['error'].startswith('FileNotFoundError: tar shard ')
    assert 'rank 0: FileNotFoundError' in got[('missing', 1)]['error']
    assert 'rank 1 found other shards (1)' in got[('other', 0)]['error']
    assert 'rank 0 found other shards (2)' in got[('other', 1)]['error']
