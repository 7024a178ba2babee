"""FaceShardDataset: crops cut on the fly from tar shards with detection json, face choice, bad members counted
exactly across DataLoader workers, truncated shards, and the shared tar index."""

import json
import os
import os.path as osp
import pickle
import shutil
import tarfile

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

import mcf_mm  # noqa: F401
from mcf_fixtures.face_shards import BIG_BYTES, write_face_shards
from mcf_mm.datasets import FaceShardDataset, crop_face, expand_shards, index_tar, read_span
from mcf_mm.registry import DATASETS

THR = 0.9


def expected_samples(records, face, thr=THR, center='box'):
    """(key, face_idx, record) of every sample, computed from the fixture's records (not the dataset's code)."""
    out = []
    for rec in records:
        if rec['kind'] in ('no_image', 'bad_json'):
            continue
        faces = rec['faces']
        ok = [i for i, f in enumerate(faces) if f['box'][2] > f['box'][0] and f['box'][3] > f['box'][1]]
        ok = [i for i in ok if faces[i]['score'] >= thr]
        if not ok:
            continue
        area = {i: (faces[i]['box'][2] - faces[i]['box'][0]) * (faces[i]['box'][3] - faces[i]['box'][1]) for i in ok}
        if face == 'all':
            chosen = ok
        elif face == 'first':
            chosen = [ok[0]]
        elif face == 'best':
            top = max(faces[i]['score'] for i in ok)
            chosen = [next(i for i in ok if faces[i]['score'] == top)]
        else:
            top = max(area.values())
            chosen = [next(i for i in ok if area[i] == top)]
        out.extend((rec['key'], i, rec) for i in chosen)
    return out


@pytest.fixture(scope='module')
def shards(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('face_shards'))
    return root, write_face_shards(root)


@pytest.mark.parametrize('face', ['largest', 'best', 'first', 'all'])
def test_samples_and_crops_match_the_detections(shards, face):
    root, records = shards
    ds = FaceShardDataset(
        data_root=root, face=face, size=24, margin=0.2, max_file_bytes=BIG_BYTES, max_bad_fraction=1.0
    )
    expected = expected_samples(records, face)
    got = [(ds.get_data_info(i)['key'], ds.get_data_info(i)['face_idx']) for i in range(len(ds))]
    assert got == [(k, j) for k, j, _ in expected]
    assert ds.shard_ids().tolist() == [rec['shard_idx'] for _, _, rec in expected]
    assert ds.num_shards == 2
    assert len({j for k, j, _ in expected}) > 1 or face != 'all'  # the fixture exercises the choice
    for i, (key, j, rec) in enumerate(expected):
        out = ds[i]
        if rec['kind'] in ('bad_img', 'big'):
            assert out is None
            continue
        ref = crop_face(rec['img'], rec['faces'][j]['box'], 0.2, 24)  # [24, 24, 3]
        assert out['img'].shape == (24, 24, 3) and out['img'].dtype == np.uint8
        diff = np.abs(out['img'].astype(int) - ref.astype(int)).max()
        assert diff == 0 if rec['lossless'] else diff <= 8  # JPEG: PIL's and OpenCV's decoders may differ
        assert out['ori_shape'] == rec['img'].shape[:2] and out['img_shape'] == (24, 24)
        assert (out['key'], out['face_idx'], out['sample_idx']) == (key, j, i)
        assert out['img_path'] == f'{rec["shard"]}/{key}'


def test_crop_holds_the_drawn_face_and_landmark_centre(shards):
    root, records = shards
    ds = FaceShardDataset(data_root=root, face='all', margin=0.0, size=16, max_file_bytes=BIG_BYTES, max_bad_fraction=1)
    expected = expected_samples(records, 'all')
    checked = 0
    for i, (_, j, rec) in enumerate(expected):
        if rec['kind'] == 'ok' and rec['lossless']:
            inner = ds[i]['img'][3:-3, 3:-3].reshape(-1, 3)  # away from the box's half-pixel border
            assert (inner == np.array(rec['faces'][j]['colour'], np.uint8)).all()
            checked += 1
    assert checked >= 3
    lm = FaceShardDataset(data_root=root, face='all', center='landmarks', size=20, max_file_bytes=BIG_BYTES)
    for i, (_, j, rec) in enumerate(expected):
        if rec['kind'] == 'ok' and rec['lossless']:
            f = rec['faces'][j]
            ref = crop_face(rec['img'], f['box'], 0.3, 20, np.array(f['landmarks']))
            assert np.array_equal(lm[i]['img'], ref)


def _collate_keep(batch):
    """DataLoader collate for the test: drop None, return the sample indices."""
    return [b['sample_idx'] for b in batch if b is not None]


def test_bad_members_are_counted_exactly_across_workers(shards):
    root, records = shards
    ds = FaceShardDataset(data_root=root, face='all', size=16, max_file_bytes=BIG_BYTES, max_bad_fraction=1.0)
    expected = expected_samples(records, 'all')
    bad = [i for i, (_, _, rec) in enumerate(expected) if rec['kind'] in ('bad_img', 'big')]
    assert len(bad) >= 2
    kinds = [r['kind'] for r in records]
    stats = ds.index_stats
    assert (stats['no_image'], stats['bad_json'], stats['invalid_faces']) == (
        kinds.count('no_image'),
        kinds.count('bad_json'),
        kinds.count('invalid'),
    )
    assert stats['keys'] == len(records)
    loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2, collate_fn=_collate_keep)
    seen = [i for batch in loader for i in batch]
    assert sorted(seen) == sorted(set(range(len(ds))) - set(bad))
    assert ds.num_skipped == len(bad)
    assert ds.skip_counter.num_skip_events == len(bad)  # every bad sample met once
    assert ds.num_checked == len(ds)  # no sample read twice
    assert np.flatnonzero(ds.skip_counter.mask()).tolist() == bad


def test_redraw_reads_another_sample(shards):
    root, records = shards
    ds = FaceShardDataset(data_root=root, size=16, on_bad='redraw', max_file_bytes=BIG_BYTES, max_bad_fraction=1.0)
    expected = expected_samples(records, 'largest')
    bad = next(i for i, (_, _, rec) in enumerate(expected) if rec['kind'] == 'bad_img')
    out = ds[bad]
    assert out is not None and out['sample_idx'] != bad


def test_cropped_shards_give_every_image_as_stored(shards):
    root, records = shards
    ds = FaceShardDataset(data_root=root, cropped=True, max_file_bytes=None, max_bad_fraction=1.0)
    with_image = [r for r in records if r['kind'] != 'no_image']
    assert [ds.get_data_info(i)['key'] for i in range(len(ds))] == [r['key'] for r in with_image]
    for i, rec in enumerate(with_image):
        out = ds[i]
        if rec['kind'] == 'bad_img':
            assert out is None
        elif rec['lossless']:
            assert np.array_equal(out['img'], rec['img']) and out['face_idx'] == -1


def test_truncated_and_corrupt_shards_keep_what_is_readable(shards, tmp_path):
    root, records = shards
    src = osp.join(root, '00000.tar')
    with tarfile.open(src) as tar:  # the offsets from tarfile itself
        members = {m.name: m for m in tar.getmembers()}
    assert index_tar(src) == {
        k: {
            e: (members[f'{k}.{e}'].offset_data, members[f'{k}.{e}'].size)
            for e in ('jpg', 'png', 'json', 'txt')
            if f'{k}.{e}' in members
        }
        for k in dict.fromkeys(n.split('.')[0] for n in members)
    }
    cut_key = records[4]['key']  # cut inside this key's json: its image is whole, its json is not
    cut = members[f'{cut_key}.json'].offset_data + 3
    trunc = tmp_path / 'trunc'
    trunc.mkdir()
    with open(src, 'rb') as f, open(trunc / '00000.tar', 'wb') as g:
        g.write(f.read(cut))
    (trunc / '00001.tar').write_bytes(b'this is not a tar file at all' * 40)
    shutil.copy(osp.join(root, '00001.tar'), trunc / '00002.tar')
    ds = FaceShardDataset(data_root=str(trunc), face='first', max_file_bytes=BIG_BYTES, max_bad_fraction=1.0)
    assert len(ds.index_problems) == 2
    exp0 = expected_samples(records[:4], 'first')
    exp2 = expected_samples(records[6:], 'first')
    assert [ds.get_data_info(i)['key'] for i in range(len(ds))] == [k for k, _, _ in exp0 + exp2]
    assert ds.shard_ids().tolist() == [0] * len(exp0) + [2] * len(exp2)
    assert ds.index_stats['no_json'] == 1  # the cut key kept its image only


def test_clear_errors_and_registry_build(shards, tmp_path):
    root, _ = shards
    with pytest.raises(FileNotFoundError, match='no tar shards'):
        FaceShardDataset(data_root=str(tmp_path), shards='*.tar')
    with pytest.raises(ValueError, match='score_thr=1.5'):
        FaceShardDataset(data_root=root, score_thr=1.5)
    with pytest.raises(ValueError, match='face='):
        FaceShardDataset(data_root=root, face='biggest')
    (tmp_path / 'x.tar.gz').write_bytes(b'')
    with pytest.raises(ValueError, match='compressed'):
        FaceShardDataset(data_root=str(tmp_path), shards='x.tar.gz')
    assert expand_shards('{00000..00001}.tar', root) == [osp.join(root, '00000.tar'), osp.join(root, '00001.tar')]
    with DefaultScope.overwrite_default_scope('mcf_mm'):  # whatever scope earlier tests left as default
        ds = DATASETS.build(
            dict(
                type='FaceShardDataset',
                data_root=root,
                shards='{00000..00001}.tar',
                size=16,
                max_file_bytes=BIG_BYTES,
                max_bad_fraction=1.0,
                pipeline=[dict(type='PackInputs', algorithm_keys=[], meta_keys=['img_path', 'sample_idx'])],
            )
        )
    out = ds[0]
    assert out['inputs'].shape == (3, 16, 16) and out['data_samples'].sample_idx == 0
    assert read_span(ds.get_data_info(0)['shard'], ds.get_data_info(0)['img_span'])[:2] in (b'\xff\xd8', b'\x89P')
    assert os.path.getsize(ds.get_data_info(0)['shard']) > 0


@pytest.mark.parametrize('fmt', [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_member_index_reproduces_tarfile(tmp_path, fmt):
    """The direct header reader gives tarfile's names, offsets and sizes (long names, non-ASCII, dirs, links)."""
    import io

    from mcf_mm.datasets import iter_tar_members
    from mcf_mm.datasets.tar_index import split_member_name

    path = str(tmp_path / 'x.tar')
    long_dir = 'd' * 60 + '/' + 'e' * 60
    names = ['000001.jpg', '000001.json', f'{long_dir}/000002.jpg', 'empty.txt', 'big.seg.bin']
    if fmt != tarfile.USTAR_FORMAT:
        names += ['x' * 130 + '.jpg', 'visage_é.json']
    with tarfile.open(path, 'w', format=fmt) as tar:
        for name, kind in (('adir', tarfile.DIRTYPE), ('link.jpg', tarfile.SYMTYPE)):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, '000001.jpg' if kind == tarfile.SYMTYPE else ''
            tar.addfile(info)
        for i, name in enumerate(names):
            data = bytes([i]) * (0 if name == 'empty.txt' else 513 * i + 7)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with tarfile.open(path) as tar:
        ref = [(*split_member_name(m.name), (m.offset_data, m.size)) for m in tar.getmembers() if m.isfile()]
    problems = []
    got = [(k, e, span) for k, e, span, _ in iter_tar_members(path, problems=problems)]
    assert got == ref and len(ref) == len(names) and problems == []
    blobs = {(k, e): d for k, e, _, d in iter_tar_members(path, read_exts=('json',), max_read_bytes=600)}
    assert blobs[('000001', 'json')] == bytes([1]) * 520 and blobs[('000001', 'jpg')] is None


def test_parallel_indexing_gives_the_same_dataset(shards):
    root, _ = shards
    one = FaceShardDataset(data_root=root, face='all', max_file_bytes=BIG_BYTES, max_bad_fraction=1.0)
    two = FaceShardDataset(data_root=root, face='all', max_file_bytes=BIG_BYTES, max_bad_fraction=1.0, index_workers=2)
    assert [one.get_data_info(i) for i in range(len(one))] == [two.get_data_info(i) for i in range(len(two))]
    assert one.index_stats == two.index_stats and one.shard_ids().tolist() == two.shard_ids().tolist()


def test_index_columns_give_back_every_value_exactly():
    """FloatColumn / KeyColumn round trips: short decimals, float32 values, arbitrary float64, huge values;
    parts of different forms joined; any rows taken."""
    from mcf_mm.datasets.face_index import FloatColumn, KeyColumn

    rng = np.random.default_rng(0)
    two_dec = np.round(rng.uniform(-50, 1500, (40, 4)), 2)  # the json writers' round(v, 2)
    cases = {
        'ints': np.round(rng.uniform(0, 300, (30, 4))),
        'two_dec': two_dec,
        'six_dec': np.round(rng.uniform(0.5, 1, 25), 6),
        'float32': rng.normal(size=(20, 5, 2)).astype(np.float32).astype(np.float64),
        'float64': rng.normal(size=(20, 5, 2)) / 3,
        'huge': np.array([1e300, -2.5e17, 0.1]),
        'empty': np.zeros((0, 4)),
    }
    for name, x in cases.items():
        col = FloatColumn.pack(x)
        assert col.values().dtype == np.float64 and np.array_equal(col.values(), x), name
        assert col.data.nbytes <= x.nbytes
    assert FloatColumn.pack(two_dec).data.dtype == np.int32  # 150000 > int16: 4 bytes instead of 8
    assert FloatColumn.pack(cases['float32']).data.dtype == np.float32
    assert FloatColumn.pack(cases['float64']).data.dtype == np.float64
    for names in (('ints', 'two_dec'), ('float32', 'float64'), ('two_dec', 'float32'), ('empty', 'two_dec')):
        parts = [cases[n].reshape(-1, 4) for n in names]
        joined = FloatColumn.concat([FloatColumn.pack(p) for p in parts])
        assert np.array_equal(joined.values(), np.concatenate(parts)), names
    rows = rng.permutation(40)[:17]
    assert np.array_equal(FloatColumn.pack(two_dec).take(rows).values(), two_dec[rows])
    with pytest.raises(ValueError, match='finite'):
        FloatColumn.pack([1.0, float('nan')])

    digit_keys = [f'{i:09d}' for i in rng.integers(0, 10**9, 50)]
    other_keys = ['dir/0001', 'visage_\udce9', '', 'x' * 40, '007']  # a directory, an undecodable name, ...
    for keys in (digit_keys, other_keys, ['12', '003']):
        col = KeyColumn.pack(keys)
        assert [col[i] for i in range(len(keys))] == keys
        picked = rng.integers(0, len(keys), 9)
        assert [col.take(picked)[i] for i in range(9)] == [keys[i] for i in picked]
    assert KeyColumn.pack(digit_keys).digits == 9 and KeyColumn.pack(digit_keys).ints.dtype == np.int32
    for a, b in ((digit_keys, other_keys), (digit_keys, ['1234']), (digit_keys, digit_keys), ([], digit_keys)):
        joined = KeyColumn.concat([KeyColumn.pack(a), KeyColumn.pack(b)])
        assert [joined[i] for i in range(len(a) + len(b))] == a + b


def _json_shards(root, n_shards, per_shard, seed=0):
    """Shards whose json hold 2-decimal boxes/landmarks and 6-decimal scores, as make_face_shards writes them,
    with a 1-byte stand-in image (indexing never decodes). Returns the expected face dict of every sample."""
    from mcf_mm.datasets import ShardWriter

    rng = np.random.default_rng(seed)
    faces = []
    with ShardWriter(root, maxcount=per_shard) as sink:
        for i in range(n_shards * per_shard):
            x1, y1 = np.round(rng.uniform(-20, 800, 2), 2)
            box = [float(x1), float(y1), float(np.round(x1 + rng.uniform(20, 400), 2)), float(np.round(y1 + 300, 2))]
            lms = np.round(rng.uniform(0, 1000, (5, 2)), 2).tolist()
            face = dict(box=box, landmarks=lms, score=float(np.round(rng.uniform(0.95, 1), 6)))
            faces.append(face)
            meta = dict(key=f'{i:09d}', width=1200, height=1200, faces=[face])
            sink.write(f'{i:09d}', {'jpg': b'x', 'json': json.dumps(meta).encode(), 'txt': b'a photo'})
    return faces


def test_compact_index_exact_values_and_bytes_per_sample(tmp_path):
    """2-decimal detections (LAION-size photos: int32 coordinates) come back exactly (get_data_info), the index
    holds no per-sample Python object, and costs under 80 bytes per sample (tracemalloc counts what the dataset
    keeps allocated), under a third of mmengine's serialized entries (one pickle per sample)."""
    import gc
    import tracemalloc

    faces = _json_shards(str(tmp_path), n_shards=3, per_shard=1000)
    ds = FaceShardDataset(data_root=str(tmp_path))
    assert len(ds) == 3000 and ds.data_list == []
    for i in (0, 1, 999, 1000, 2999):
        info = ds.get_data_info(i)
        assert info['face'] == faces[i] and info['key'] == f'{i:09d}' and info['shard_id'] == i // 1000
        assert all(type(v) is float for v in info['face']['box'])
    assert [ds.get_data_info(i)['face'] for i in range(len(ds))] == faces

    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    ds = FaceShardDataset(data_root=str(tmp_path))
    gc.collect()
    held = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, 'filename'))
    tracemalloc.stop()
    assert held / len(ds) < 80 and held < ds.index_nbytes + 20000, (held, ds.index_nbytes)
    entries = [{k: v for k, v in ds.get_data_info(i).items() if k not in ('shard', 'sample_idx')} for i in range(3000)]
    assert held < sum(len(pickle.dumps(e, pickle.HIGHEST_PROTOCOL)) for e in entries) / 3
    columns = [v for v in vars(ds.index).values() if v is not None]
    arrays = [a for c in columns for a in ([c] if isinstance(c, np.ndarray) else vars(c).values())]
    arrays = [a for a in arrays if isinstance(a, np.ndarray)]
    assert len(arrays) >= 9 and all(a.dtype != object for a in arrays)
    assert sum(a.nbytes for a in arrays) == ds.index_nbytes


def test_indices_and_subsets_take_the_rows(shards):
    root, _ = shards
    common = dict(data_root=root, face='all', max_file_bytes=BIG_BYTES, max_bad_fraction=1.0)
    full = FaceShardDataset(**common)
    rows = [full.get_data_info(i) for i in range(len(full))]
    pick = [5, 0, 3, len(full) - 1]

    def strip(info):
        return {k: v for k, v in info.items() if k != 'sample_idx'}

    for ds, want in (
        (FaceShardDataset(indices=pick, **common), pick),
        (FaceShardDataset(indices=4, **common), [0, 1, 2, 3]),
        (FaceShardDataset(indices=-3, **common), list(range(len(full) - 3, len(full)))),
        (full.get_subset(pick), pick),
    ):
        assert len(ds) == len(want) and ds.skip_counter.num_samples == len(want)
        assert [strip(ds.get_data_info(i)) for i in range(len(ds))] == [strip(rows[j]) for j in want]
        assert ds.shard_ids().tolist() == [rows[j]['shard_id'] for j in want]
        assert ds.get_data_info(-1)['sample_idx'] == len(ds) - 1
    assert len(full) == len(rows)  # get_subset left the original whole
    full.get_subset_([2, 1])
    assert [strip(full.get_data_info(i)) for i in range(2)] == [strip(rows[2]), strip(rows[1])]
    with pytest.raises(IndexError, match='out of range'):
        full.get_data_info(2)


def _own_pages(arrays) -> int:
    """How many of the pages inside ``arrays`` (their first and last page left out: they may hold other data) are
    mapped by this process alone (/proc/self/pagemap bit 56): in a forked child, the pages it copied."""
    own = 0
    with open('/proc/self/pagemap', 'rb') as f:
        for a in arrays:
            first, last = a.ctypes.data // 4096 + 1, (a.ctypes.data + a.nbytes) // 4096 - 1
            f.seek(first * 8)
            entries = np.frombuffer(f.read(max(last - first, 0) * 8), np.uint64)  # one per page
            own += int(((entries >> np.uint64(56)) & np.uint64(1)).sum())
    return own


def _in_fork(work) -> list:
    """``work()``'s list of ints, computed in a forked child."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(wfd, json.dumps(work()).encode())
        finally:
            os._exit(0)
    os.close(wfd)
    out = b''
    while chunk := os.read(rfd, 4096):
        out += chunk
    os.close(rfd)
    os.waitpid(pid, 0)
    return json.loads(out)


@pytest.mark.skipif(not osp.exists('/proc/self/pagemap'), reason='needs Linux /proc/self/pagemap')
def test_a_forked_worker_reads_the_index_without_copying_its_pages():
    """A forked process reading rows that touch every page of every column copies none of the columns' memory
    (the kernel's page map); writing to one column, the measurement's control, copies its pages."""
    from mcf_mm.datasets.face_index import FaceIndex, FloatColumn, KeyColumn

    n, rng = 400_000, np.random.default_rng(0)
    index = FaceIndex(
        shard_id=np.repeat(np.arange(40, dtype=np.int16), n // 40),
        offset=rng.integers(0, 2**31, n).astype(np.int32),
        size=rng.integers(0, 2**31, n).astype(np.int32),
        key=KeyColumn(9, ints=np.arange(n, dtype=np.int32)),
        face_idx=np.zeros(n, np.int8),
        box=FloatColumn(rng.integers(0, 10**5, (n, 4)).astype(np.int32), 2),
        landmarks=FloatColumn(rng.integers(0, 10**5, (n, 5, 2)).astype(np.int32), 2),
        has_landmarks=np.ones(n, bool),
        score=FloatColumn(rng.integers(0, 10**6, n).astype(np.int32), 6),
    )
    arrays = [index.shard_id, index.offset, index.size, index.key.ints, index.face_idx, index.has_landmarks]
    arrays += [index.box.data, index.landmarks.data, index.score.data]
    assert sum(a.nbytes for a in arrays) == index.nbytes
    step = 4096 // 40  # the widest column (landmarks) has 40 bytes per row: every page is read

    def read_then_write():
        before = _own_pages(arrays)
        rows = [index.row(i) for i in range(0, n, step)]
        after_read = _own_pages(arrays)
        index.offset[::1024] += 1  # one write per page of one column
        return [before, after_read, _own_pages(arrays), len(rows)]

    before, after_read, after_write, read = _in_fork(read_then_write)
    assert read == -(-n // step)
    pages = sum(a.nbytes // 4096 - 2 for a in arrays)
    assert pages > 7000 and before == after_read, (before, after_read)  # no page of a column copied by reading
    assert after_write - after_read >= index.offset.nbytes // 4096 - 2, (after_read, after_write)
