"""The shard tools: ShardWriter (atomic shards), crop_laion_face.py --shards / --out-format shards (the same crops
as the folder output, read back by FaceShardDataset(cropped=True)), make_face_shards.py (MTCNN detections)."""

import glob
import importlib.util
import json
import os
import os.path as osp
import random
import signal
import subprocess
import sys
import tarfile

import cv2
import numpy as np
import pytest

import mcf_mm  # noqa: F401
from mcf_fixtures.face_shards import write_face_shards
from mcf_mm.datasets import FaceShardDataset, ShardWriter, crop_face, decode_image, expand_shards
from mcf_mm.datasets.captions import utkface_caption

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', 'dataset_converters', f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _members(path: str) -> list:
    with tarfile.open(path) as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]


def test_shard_writer_splits_and_names_shards(tmp_path):
    samples = [(f'{i:09d}', {'jpg': bytes([i]) * (i + 1), 'json': b'{"i": %d}' % i, 'txt': b't'}) for i in range(7)]
    with ShardWriter(str(tmp_path), maxcount=3) as sink:
        for key, members in samples:
            sink.write(key, members)
    assert sink.paths == [str(tmp_path / f'{s:05d}.tar') for s in range(3)]
    assert sorted(os.listdir(tmp_path)) == ['00000.tar', '00001.tar', '00002.tar']
    got = [m for p in sink.paths for m in _members(p)]
    assert got == [(f'{k}.{e}', d) for k, ms in samples for e, d in ms.items()]
    with pytest.raises(ValueError, match='dot'):
        ShardWriter(str(tmp_path / 'x')).write('a.b', {'jpg': b''})


def test_shard_writer_never_leaves_a_partial_shard_under_a_final_name(tmp_path):
    """A writer killed (SIGKILL) in its second shard leaves shard 0 whole and no 00001.tar."""
    code = (
        'import importlib.util, os, signal, sys\n'
        "spec = importlib.util.spec_from_file_location('sw', sys.argv[2])\n"
        'sw = importlib.util.module_from_spec(spec)\n'
        'spec.loader.exec_module(sw)\n'
        'w = sw.ShardWriter(sys.argv[1], maxcount=3)\n'
        'for i in range(5):\n'
        "    w.write(f'{i:09d}', {'jpg': b'x' * 1000, 'json': b'{}'})\n"
        'os.kill(os.getpid(), signal.SIGKILL)\n'
    )
    writer = osp.join(ROOT, 'mcf_mm', 'datasets', 'shard_writer.py')  # loaded alone: a fast start
    proc = subprocess.run([sys.executable, '-c', code, str(tmp_path), writer], cwd=ROOT)
    assert proc.returncode == -signal.SIGKILL
    assert sorted(os.listdir(tmp_path)) == ['00000.tar', '00001.tar.partial']
    assert [n for n, _ in _members(str(tmp_path / '00000.tar'))] == [
        f'{i:09d}.{e}' for i in range(3) for e in ('jpg', 'json')
    ]
    assert expand_shards('*.tar', str(tmp_path)) == [str(tmp_path / '00000.tar')]
    # an exception inside the block: the finished shard stays, the unfinished one is deleted
    out = tmp_path / 'exc'
    with pytest.raises(KeyError), ShardWriter(str(out), maxcount=2) as sink:
        for i in range(3):
            sink.write(f'{i:09d}', {'jpg': b'x'})
        raise KeyError('boom')
    assert os.listdir(out) == ['00000.tar']


def test_crop_tool_shards_in_and_out_equal_the_folder_crops(tmp_path):
    src = tmp_path / 'src'
    src.mkdir()
    records = write_face_shards(str(src))
    crop = _tool('crop_laion_face')
    common = ['--shards', str(src / '*.tar'), '--margin', '0.25', '--size', '20', '--ext', '.png']
    crop.main(common + ['--out', str(tmp_path / 'folder'), '--list-file', str(tmp_path / 'list.txt')])
    crop.main(common + ['--out', str(tmp_path / 'shards'), '--out-format', 'shards', '--shard-size', '4'])
    # the crops the tool must write, computed here from the fixture: readable image + json, valid box, score
    expected = []
    for rec in records:
        if rec['kind'] in ('bad_img', 'bad_json', 'no_image'):
            continue
        for j, f in enumerate(rec['faces']):
            if f['box'][2] > f['box'][0] and f['score'] >= 0.9:
                expected.append((f'{rec["key"]}_{j}.png', rec, j))
    names = open(tmp_path / 'list.txt').read().split()
    assert names == [n for n, _, _ in expected]
    for name, rec, j in expected:
        img = cv2.imread(str(tmp_path / 'folder' / name))
        ref = crop_face(rec['img'], rec['faces'][j]['box'], 0.25, 20)
        assert np.abs(img.astype(int) - ref.astype(int)).max() <= (0 if rec['lossless'] else 8)
    # cropping on the fly gives the offline crops exactly
    live = FaceShardDataset(data_root=str(src), face='all', margin=0.25, size=20, max_bad_fraction=1.0)
    live_crops = [out['img'] for out in (live[i] for i in range(len(live))) if out is not None]
    assert len(live_crops) == len(expected)
    for (name, _, _), img in zip(expected, live_crops):
        assert np.array_equal(img, cv2.imread(str(tmp_path / 'folder' / name)))
    shards = sorted(glob.glob(str(tmp_path / 'shards' / '*.tar')))
    assert len(shards) == -(-len(expected) // 4) and not glob.glob(str(tmp_path / 'shards' / '*.partial'))
    ds = FaceShardDataset(data_root=str(tmp_path / 'shards'), cropped=True)
    assert len(ds) == len(expected)
    for i, (name, rec, j) in enumerate(expected):
        info = ds.get_data_info(i)
        assert np.array_equal(ds[i]['img'], cv2.imread(str(tmp_path / 'folder' / name)))
        members = dict(_members(info['shard']))
        meta = json.loads(members[f'{info["key"]}.json'])
        assert (meta['name'], meta['face_idx'], meta['box']) == (name, j, rec['faces'][j]['box'])
        assert members[f'{info["key"]}.png'] == open(tmp_path / 'folder' / name, 'rb').read()  # same bytes
        assert members[f'{info["key"]}.txt'] == f'photo {rec["key"]}'.encode()  # the source caption
    # JSON Lines input over the same images gives the same crops
    imgs = tmp_path / 'imgs'
    imgs.mkdir()
    lines = []
    for rec in records:
        if rec['kind'] == 'ok':
            cv2.imwrite(str(imgs / f'{rec["key"]}.png'), rec['img'])
            lines.append(json.dumps(dict(image=f'{rec["key"]}.png', faces=rec['faces'])))
    (tmp_path / 'meta.jsonl').write_text('\n'.join(lines) + '\n')
    crop.main([str(tmp_path / 'meta.jsonl'), '--img-root', str(imgs), '--out', str(tmp_path / 'jl')] + common[2:])
    for name in os.listdir(tmp_path / 'jl'):
        assert np.array_equal(cv2.imread(str(tmp_path / 'jl' / name)), cv2.imread(str(tmp_path / 'folder' / name)))
    assert len(os.listdir(tmp_path / 'jl')) == sum(rec['kind'] == 'ok' for _, rec, _ in expected)


def test_make_face_shards_writes_the_layout(tmp_path):
    pytest.importorskip('facenet_pytorch')
    mk = _tool('make_face_shards')
    img_dir = tmp_path / 'photos'
    img_dir.mkdir()
    rng = np.random.default_rng(0)
    shapes = {'a.png': (30, 40), 'b.jpg': (36, 28), 'c.jpeg': (32, 32)}
    for name, (h, w) in shapes.items():
        cv2.imwrite(str(img_dir / name), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    (img_dir / 'a.txt').write_text('the caption of a\n')
    (img_dir / 'd.jpg').write_bytes(b'\xff\xd8 broken')
    (img_dir / 'notes.md').write_text('not a photo')
    paths = mk.main([str(img_dir), str(tmp_path / 'out'), '--captions', 'sidecar', '--shard-size', '2'])
    assert paths == [str(tmp_path / 'out' / '00000.tar'), str(tmp_path / 'out' / '00001.tar')]
    members = [m for p in paths for m in _members(p)]
    names = sorted(shapes)
    assert [n for n, _ in members] == [
        f'{i:09d}.{e}' for i, n in enumerate(names) for e in ('jpg' if n != 'a.png' else 'png', 'json', 'txt')
    ]
    got = dict(members)
    for i, name in enumerate(names):
        meta = json.loads(got[f'{i:09d}.json'])
        assert (meta['key'], meta['filename'], meta['height'], meta['width']) == (f'{i:09d}', name, *shapes[name])
        assert isinstance(meta['faces'], list)
        ext = 'png' if name == 'a.png' else 'jpg'
        assert got[f'{i:09d}.{ext}'] == open(img_dir / name, 'rb').read()  # the photo's own bytes
        assert got[f'{i:09d}.txt'] == (b'the caption of a' if name == 'a.png' else b'')


def _utkface_dir():
    root = osp.join(os.environ.get('MCF_MM_DATA', 'data'), 'utkface')
    for sub in ('data/images', 'UTKFace', ''):
        if glob.glob(osp.join(root, sub, '*.chip.jpg')):
            return osp.join(root, sub)
    return None


def test_make_face_shards_finds_one_face_per_real_utkface_crop(tmp_path):
    pytest.importorskip('facenet_pytorch')
    src = _utkface_dir()
    if src is None:
        pytest.skip('real UTKFace not available (set MCF_MM_DATA to the folder holding utkface/)')
    mk = _tool('make_face_shards')
    paths = mk.main([src, str(tmp_path / 'out'), '--captions', 'utkface', '--limit', '4', '--seed', '3'])
    all_names = sorted(n for n in os.listdir(src) if n.endswith('.jpg'))
    chosen = sorted(random.Random(3).sample(all_names, 4))
    metas = [json.loads(d) for p in paths for n, d in _members(p) if n.endswith('.json')]
    texts = [d.decode() for p in paths for n, d in _members(p) if n.endswith('.txt')]
    assert [m['filename'] for m in metas] == chosen
    assert texts == [utkface_caption(n) for n in chosen]
    for meta, name in zip(metas, chosen):
        img = decode_image(open(osp.join(src, name), 'rb').read())
        assert (meta['height'], meta['width']) == img.shape[:2]
        strong = [f for f in meta['faces'] if f['score'] >= 0.9]
        assert len(strong) == 1, (name, meta['faces'])  # an aligned crop holds one face
        x1, y1, x2, y2 = strong[0]['box']
        cx, cy = img.shape[1] / 2, img.shape[0] / 2
        assert x1 < cx < x2 and y1 < cy < y2 and len(strong[0]['landmarks']) == 5
    ds = FaceShardDataset(data_root=str(tmp_path / 'out'), size=32)
    assert len(ds) == 4 and ds[0]['img'].shape == (32, 32, 3)
