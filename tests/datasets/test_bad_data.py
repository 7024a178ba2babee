"""Data that cannot break a run: >= 1,000 bad or unusual files in folder, list and LMDB layouts through DataLoader
workers; special files are never opened blocking; caps; EXIF; LMDB with (persistent) workers.

Which unusual files are GOOD (must decode, with the shape a viewer shows): 16-bit, CMYK, palette (also with
transparency), RGBA, LA, 1-bit, float/int32 TIFF, 1 px, all 8 EXIF orientations (rotated/mirrored shape and
pixels), animated GIF/PNG/WebP and multi-page TIFF (first frame), TIFF (raw/LZW/deflate), WebP (lossy/lossless),
BMP, PPM/PGM, progressive JPEG, interlaced PNG, a PNG named .jpg, an upper-case .JPG, a JPEG with trailing
bytes, a symlink to a good file, files inside a directory named x.jpg. BAD (skipped and counted): truncated,
zero-byte, text, random bytes (also after a JPEG/PNG signature), header-only, decompression bombs, more pixels or
bytes than the caps, EPS/ICO/PDF content, FIFOs, a socket, links to /dev/zero, /dev/null, /dev/urandom, symlink
loops, a dangling link, a missing file or LMDB key; in a list file also a directory named x.jpg and a directory
link. In folder mode directories are walked (not samples) and symlink loops are walked once.
"""

import importlib.util
import io
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

import mcf_mm  # noqa: F401
from mcf_mm.datasets import FaceImageDataset, decode_image
from mcf_mm.datasets.decode import ImageDecodeError
from mcf_mm.datasets.file_io import read_regular_file, scan_image_files

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_tool(name: str):
    """Import tools/analysis_tools/<name>.py by path (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, 'tools', 'analysis_tools', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stress = _load_tool('data_stress')  # the readers' checks
zoo_files = _load_tool('_bad_files')  # the zoo generator and encoders


@pytest.fixture(scope='module')
def zoo(tmp_path_factory):
    return zoo_files.write_zoo(str(tmp_path_factory.mktemp('zoo')), good=150, reps=5, cuts=120)


def test_zoo_size_and_labels(zoo):
    plain = sum(n.startswith('good_') for n in zoo['good'])
    unusual_good = len(zoo['lmdb_good']) - plain
    assert len(zoo['list_bad']) + unusual_good >= 1000 and plain >= 150
    for name in ('u000_exif6.jpg', 'u000_exif8.png', 'u000_exif5.png'):  # displayed shape = stored shape turned
        with Image.open(osp.join(zoo['img_dir'], name)) as im:
            w, h = im.size  # stored (header) size, no EXIF applied
        assert zoo['good'][name][0] == (w, h)


@pytest.mark.parametrize('layout', ['folder', 'list', 'lmdb'])
def test_zoo_through_two_workers(zoo, layout):
    """0 crashes, 0 hangs (deadline), skipped == bad entries, every good one returned with the right pixels."""
    if layout == 'folder':
        kwargs, good, bad, root = dict(data_root=zoo['img_dir']), zoo['good'], zoo['folder_bad'], zoo['img_dir']
    elif layout == 'list':
        kwargs = dict(data_root=zoo['img_dir'], ann_file=zoo['list_file'])
        good, bad, root = zoo['good'], zoo['list_bad'], zoo['img_dir']
    else:
        kwargs, good, bad, root = (
            dict(lmdb_path=zoo['lmdb'], ann_file=zoo['keys']),
            zoo['lmdb_good'],
            zoo['lmdb_bad'],
            '',
        )
    samples, ds, _ = stress.read_layout(kwargs, workers=2, timeout=120)
    counts = stress.check(samples, ds, good, bad, root)
    assert len(ds) == len(good) + len(bad)
    assert counts['skipped'] == len(bad), counts
    assert counts['good_dropped'] == 0 and counts['bad_returned'] == 0 and counts['wrong_pixels'] == 0, counts
    assert counts['returned'] == len(ds)  # each index gives a sample (a bad one is replaced by a good one)
    if layout == 'folder':  # two directory symlink loops walked once; two directories named like images walked
        assert ds.scan_report == dict(repeated_directories=2, unreadable_directories=0, directories_named_like_images=2)


def _write_lmdb(path, items):
    import lmdb

    env = lmdb.open(path, map_size=1 << 24)
    with env.begin(write=True) as txn:
        for k, v in items:
            txn.put(k.encode(), v)
        txn.put(b'length', str(len(items)).encode())
    env.close()


@pytest.mark.parametrize('keys_file', [True, False])
def test_lmdb_persistent_workers_two_epochs(tmp_path, keys_file):
    """The original MCF layout (keys file, or only `length`) with 2 persistent workers over 2 epochs; the main
    process reads a sample first, so the workers inherit an open environment."""
    from torch.utils.data import DataLoader

    pytest.importorskip('lmdb')
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (6 + i, 5, 3), dtype=np.uint8) for i in range(10)]
    blobs = [zoo_files.enc(Image.fromarray(a), 'PNG') for a in imgs] + [b'', b'broken']
    keys = [f'k{i:03d}' if keys_file else str(i) for i in range(len(blobs))]
    _write_lmdb(str(tmp_path / 'db'), list(zip(keys, blobs)))
    kwargs = dict(lmdb_path=str(tmp_path / 'db'), pipeline=[stress.summarise], max_bad_fraction=1.0)
    if keys_file:
        (tmp_path / 'keys.txt').write_text('\n'.join(keys) + '\n')
        kwargs['ann_file'] = str(tmp_path / 'keys.txt')
    ds = FaceImageDataset(**kwargs)
    assert ds[0]['sha'] == zoo_files.digest(imgs[0][..., ::-1])
    loader = DataLoader(ds, batch_size=4, num_workers=2, persistent_workers=True, collate_fn=list, timeout=60)
    with stress.deadline(120, 'LMDB with persistent workers'):
        for _ in range(2):
            got = {s['name']: s['sha'] for batch in loader for s in batch}
            assert got == {k: zoo_files.digest(a[..., ::-1]) for k, a in zip(keys, imgs)}
    assert ds.num_skipped == 2 and ds.skip_counter.num_skip_events >= 4 and ds.num_checked >= 2 * 12 + 1


def test_lmdb_spawned_workers(tmp_path):
    """Workers started with spawn get the dataset pickled: no environment travels, each opens its own."""
    from torch.utils.data import DataLoader

    pytest.importorskip('lmdb')
    blobs = [zoo_files.enc(Image.new('RGB', (4, 4 + i)), 'PNG') for i in range(4)]
    _write_lmdb(str(tmp_path / 'db'), [(str(i), b) for i, b in enumerate(blobs)])
    ds = FaceImageDataset(
        lmdb_path=str(tmp_path / 'db'), pipeline=[dict(type='PackInputs', algorithm_keys=[], meta_keys=['lmdb_key'])]
    )
    loader = DataLoader(ds, batch_size=None, num_workers=1, multiprocessing_context='spawn', timeout=120)
    with stress.deadline(180, 'LMDB with spawned workers'):
        shapes = sorted(tuple(s['inputs'].shape) for s in loader)
    assert shapes == [(3, 4 + i, 4) for i in range(4)]


def test_special_files_are_refused_without_opening(tmp_path):
    os.mkfifo(tmp_path / 'pipe.jpg')
    os.symlink('/dev/zero', tmp_path / 'zero.jpg')
    os.symlink('loop.jpg', tmp_path / 'loop.jpg')
    (tmp_path / 'dir.jpg').mkdir()
    with stress.deadline(10, 'reading special files'):
        for name, match in [('pipe.jpg', 'FIFO'), ('zero.jpg', 'character device'), ('dir.jpg', 'directory')]:
            with pytest.raises(ImageDecodeError, match=match):
                read_regular_file(str(tmp_path / name))
        with pytest.raises(OSError):
            read_regular_file(str(tmp_path / 'loop.jpg'))
    (tmp_path / 'big.jpg').write_bytes(b'x' * 101)
    assert read_regular_file(str(tmp_path / 'big.jpg'), max_bytes=101) == b'x' * 101
    with pytest.raises(ImageDecodeError, match='max_file_bytes=100'):
        read_regular_file(str(tmp_path / 'big.jpg'), max_bytes=100)


def test_scan_lists_special_entries_and_walks_loops_once(tmp_path):
    (tmp_path / 'a').mkdir()
    (tmp_path / 'a' / 'x.png').write_bytes(b'1')
    os.symlink('..', tmp_path / 'a' / 'up')  # loop back to the root
    os.symlink('a', tmp_path / 'b.jpg')  # second way into a, named like an image
    os.mkfifo(tmp_path / 'f.jpg')
    with stress.deadline(10, 'scanning a looped tree'):
        paths, report = scan_image_files(str(tmp_path), ('.jpg', '.png'))
    assert [osp.relpath(p, tmp_path) for p in paths] == ['a/x.png', 'f.jpg']
    assert report == dict(repeated_directories=2, unreadable_directories=0, directories_named_like_images=1)


def _png(arr, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format='PNG', **kw)
    return buf.getvalue()


def test_pixel_cap_bombs_and_unsafe_formats():
    data = _png(np.zeros((10, 12, 3), np.uint8))
    assert decode_image(data, max_pixels=120).shape == (10, 12, 3)
    with pytest.raises(ImageDecodeError, match='max_pixels=119'):
        decode_image(data, max_pixels=119)
    with pytest.raises(ImageDecodeError, match='DecompressionBomb'):  # PIL's own limit stays, even uncapped
        decode_image(zoo_files.png_bomb(100_000, 100_000), max_pixels=None)
    with pytest.raises(ImageDecodeError, match='Unidentified'):  # EPS would run Ghostscript: never tried
        decode_image(b'%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n')


@pytest.mark.parametrize('orientation', range(1, 9))
def test_exif_orientation_applied(orientation):
    arr = np.random.default_rng(orientation).integers(0, 256, (5, 9, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _png(arr, exif=exif)
    shown = zoo_files.ORIENT[orientation](arr)  # the EXIF definition in numpy
    assert np.array_equal(decode_image(data)[..., ::-1], shown)
    assert np.array_equal(decode_image(data, exif_transpose=False)[..., ::-1], arr)


def test_dataset_caps_are_configurable(tmp_path):
    (tmp_path / 'a.png').write_bytes(_png(np.zeros((20, 20, 3), np.uint8)))
    (tmp_path / 'b.png').write_bytes(_png(np.zeros((4, 4, 3), np.uint8)))
    kw = dict(data_root=str(tmp_path), pipeline=[stress.summarise], max_bad_fraction=1.0)
    assert FaceImageDataset(**kw, max_pixels=100).prepare_data(0) is None
    size = len((tmp_path / 'a.png').read_bytes())
    assert FaceImageDataset(**kw, max_file_bytes=size - 1).prepare_data(0) is None
    assert FaceImageDataset(**kw, max_file_bytes=size, max_pixels=400).prepare_data(0)['shape'] == (20, 20)


def _tar_add(tar, name: str, data: bytes) -> None:
    import tarfile

    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_tar_reader_counts_skips_across_workers(tmp_path):
    """Skips counted in 2 DataLoader workers are seen by the main process (one shared count, as for folders)."""
    import tarfile

    from torch.utils.data import DataLoader

    from mcf_mm.datasets import ImageTextTarDataset

    bad = {
        '00003': b'',
        '00005': b'truncated' + _png(np.zeros((4, 4, 3), np.uint8))[:20],
        '00007': zoo_files.png_bomb(100_000, 100_000),
    }
    with tarfile.open(tmp_path / '00000.tar', 'w') as tar:
        for i in range(12):
            key = f'{i:05d}'
            _tar_add(tar, f'{key}.png', bad.get(key, _png(np.full((3 + i, 4, 3), i, np.uint8))))
            _tar_add(tar, f'{key}.txt', f'face {i}'.encode())
    ds = ImageTextTarDataset(
        shards='*.tar', data_root=str(tmp_path), pipeline=[_caption_and_shape], max_bad_fraction=1.0
    )
    loader = DataLoader(ds, batch_size=4, num_workers=2, collate_fn=list, timeout=60)
    with stress.deadline(120, 'tar shards with workers'):
        got = {text: shape for batch in loader for text, shape in batch}
    assert got == {f'face {i}': (3 + i, 4) for i in range(12) if f'{i:05d}' not in bad}
    assert ds.num_skipped == len(bad) and ds.num_checked >= 12 + len(bad)


def _caption_and_shape(results: dict) -> tuple:
    return results['text'], tuple(results['img'].shape[:2])


def test_crop_tool_skips_special_files_and_applies_exif(tmp_path, monkeypatch, capsys):
    import json
    import sys

    spec = importlib.util.spec_from_file_location(
        'crop_laion_face', osp.join(ROOT, 'tools', 'dataset_converters', 'crop_laion_face.py')
    )
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :10] = 255  # white left band; EXIF 6 (90 degrees clockwise) moves it to the top
    exif = Image.Exif()
    exif[0x0112] = 6
    (tmp_path / 'rot.png').write_bytes(_png(arr, exif=exif))
    os.mkfifo(tmp_path / 'pipe.jpg')
    box = dict(box=[0, 0, 20, 20], score=1.0)  # the top 20x20 of the upright 40x20 (H x W) image
    meta = [dict(image='rot.png', faces=[box]), dict(image='pipe.jpg', faces=[box])]
    (tmp_path / 'meta.jsonl').write_text('\n'.join(json.dumps(m) for m in meta) + '\n')
    monkeypatch.setattr(
        sys,
        'argv',
        [
            'crop',
            str(tmp_path / 'meta.jsonl'),
            '--img-root',
            str(tmp_path),
            '--out',
            str(tmp_path / 'out'),
            '--margin',
            '0',
            '--size',
            '20',
            '--ext',
            '.png',
        ],
    )
    with stress.deadline(30, 'crop tool on a FIFO'):
        tool.main()
    assert '1 unreadable images' in capsys.readouterr().out
    crop = np.asarray(Image.open(tmp_path / 'out' / 'rot_0.png'))
    assert crop[:10].min() == 255 and crop[10:].max() == 0  # upright: the band is the crop's top half
