"""One rank of the distributed-indexing checks of FaceShardDataset (run by torchrun from
tests/datasets/test_face_shards_dist.py).

argv: CASES_JSON OUT_DIR. CASES_JSON holds ``{name: FaceShardDataset kwargs}``; a case may add ``fail_on_shard``
(test fault injection: indexing that shard raises OSError on the rank that indexes it) or
``shards_per_rank`` (rank r's ``shards``). For each case this rank writes
``OUT_DIR/<name>_rank<r>.pkl``: every ``get_data_info`` row, ``shard_ids()``, ``index_stats``, ``index_problems``,
``shard_paths``, the shard ids this rank indexed itself (recorded by wrapping ``index_face_shard``; not
with ``index_workers`` > 1), or the error.
"""

import json
import os.path as osp
import pickle
import sys

import torch.distributed as dist

import mcf_mm.datasets.face_shards as face_shards
from mcf_mm.datasets import FaceShardDataset


def main() -> None:
    cases, out = json.load(open(sys.argv[1])), sys.argv[2]
    dist.init_process_group('gloo')
    rank = dist.get_rank()
    real = face_shards.index_face_shard
    for name, kwargs in cases.items():
        fail_on = kwargs.pop('fail_on_shard', None)
        if 'shards_per_rank' in kwargs:  # test set-up: ranks that see different shard lists
            kwargs['shards'] = kwargs.pop('shards_per_rank')[rank]
        here = []

        def spy(shard_id, path, **kw):
            here.append(shard_id)
            if shard_id == fail_on:
                raise OSError(f'injected read error in shard {shard_id}')
            return real(shard_id, path, **kw)

        if kwargs.get('index_workers', 0) <= 1:  # a pool would have to pickle the spy: not recorded there
            face_shards.index_face_shard = spy
        try:
            ds = FaceShardDataset(**kwargs)
            result = dict(
                rows=[ds.get_data_info(i) for i in range(len(ds))],
                shard_ids=ds.shard_ids().tolist(),
                stats=ds.index_stats,
                problems=ds.index_problems,
                paths=ds.shard_paths,
                nbytes=ds.index_nbytes,
            )
        except Exception as err:  # noqa: BLE001 - recorded for the test
            result = dict(error=f'{type(err).__name__}: {err}')
        finally:
            face_shards.index_face_shard = real
        result.update(here=here, world=dist.get_world_size())
        with open(osp.join(out, f'{name}_rank{rank}.pkl'), 'wb') as f:
            pickle.dump(result, f)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
