"""FaceShardDataset: crops cut on the fly from tar shards with detection json, face choice, bad members counted
exactly across DataLoader workers, truncated shards, and the shared tar index."""

import os
import os.path as osp
import shutil
import tarfile

import numpy as np
import pytest
import torch

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
