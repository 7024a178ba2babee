"""Pre-training datasets: folder / list / LMDB sources and robust skipping of unreadable files."""

import io
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

import mcf_mm  # noqa: F401
from mcf_mm.datasets import FaceImageDataset, SkimageFaceDataset, crop_face, decode_image
from mcf_mm.datasets.decode import ImageDecodeError

PIPE = [
    dict(type='Resize', scale=(32, 32), backend='cv2'),
    dict(type='PackInputs', algorithm_keys=[], meta_keys=['sample_idx']),
]


def write_bad_files(folder: str, good_jpeg: bytes) -> dict:
    """A zoo of broken and unusual files; returns name -> expected readable?"""
    os.makedirs(folder, exist_ok=True)
    files = {
        'truncated.jpg': (good_jpeg[: len(good_jpeg) // 3], False),
        'empty.jpg': (b'', False),
        'notes.png': (b'this is a text file, not an image\n' * 4, False),
    }
    for name, (data, _) in files.items():
        with open(osp.join(folder, name), 'wb') as f:
            f.write(data)
    rng = np.random.default_rng(0)
    Image.fromarray((rng.random((40, 40)) * 65535).astype(np.uint16)).save(osp.join(folder, 'deep16.png'))
    Image.fromarray((rng.random((40, 40, 4)) * 255).astype(np.uint8), 'CMYK').save(osp.join(folder, 'cmyk.jpg'))
    Image.fromarray((rng.random((40, 40)) * 255).astype(np.uint8), 'L').save(osp.join(folder, 'gray.jpg'))
    return {**{k: v[1] for k, v in files.items()}, 'deep16.png': True, 'cmyk.jpg': True, 'gray.jpg': True}


def jpeg_bytes(img: np.ndarray) -> bytes:
    return cv2.imencode('.jpg', img)[1].tobytes()


def test_decode_handles_unusual_modes_and_rejects_garbage(tmp_path):
    good = jpeg_bytes(np.full((20, 20, 3), 128, np.uint8))
    expected = write_bad_files(str(tmp_path), good)
    for name, readable in expected.items():
        data = open(tmp_path / name, 'rb').read()
        if readable:
            img = decode_image(data)
            assert img.dtype == np.uint8 and img.shape == (40, 40, 3), name
        else:
            with pytest.raises(ImageDecodeError):
                decode_image(data)
    # 16-bit values are scaled, not clipped: 65535 -> 255, 257 -> 1
    buf = io.BytesIO()
    Image.fromarray(np.array([[65535, 257]], np.uint16)).save(buf, format='PNG')
    assert decode_image(buf.getvalue())[0, :, 0].tolist() == [255, 1]
    # CMYK is converted to RGB and returned as BGR
    buf = io.BytesIO()
    Image.new('RGB', (4, 4), (255, 0, 0)).convert('CMYK').save(buf, format='JPEG', quality=100)
    b, g, r = decode_image(buf.getvalue())[0, 0].astype(int)
    assert r > 200 and g < 60 and b < 60


def test_mixed_folder_skips_and_counts_unreadable(face_folder):
    expected = write_bad_files(face_folder, open(osp.join(face_folder, 'face_000.jpg'), 'rb').read())
    ds = FaceImageDataset(data_root=face_folder, pipeline=PIPE)
    assert len(ds) == 12 + len(expected)
    for i in range(len(ds)):
        assert ds[i]['inputs'].shape == (3, 32, 32)  # unreadable ones are replaced, never crash
    assert ds.num_skipped >= sum(not ok for ok in expected.values())


def test_mostly_unreadable_dataset_stops_early(tmp_path):
    for i in range(40):
        (tmp_path / f'bad_{i}.jpg').write_bytes(b'')
    ds = FaceImageDataset(data_root=str(tmp_path), pipeline=PIPE, min_checked=8)
    with pytest.raises(RuntimeError, match='unreadable.*looks broken'):
        ds[0]


def test_list_file_and_missing_sources(face_folder, tmp_path):
    names = sorted(os.listdir(face_folder))[:5]
    lst = tmp_path / 'list.txt'
    lst.write_text('\n'.join(names) + '\n')
    ds = FaceImageDataset(data_root=face_folder, ann_file=str(lst), pipeline=PIPE)
    assert len(ds) == 5 and ds.get_data_info(0)['img_path'] == osp.join(face_folder, names[0])
    with pytest.raises(FileNotFoundError, match='image folder not found'):
        FaceImageDataset(data_root=str(tmp_path / 'nope'), pipeline=PIPE)
    with pytest.raises(FileNotFoundError, match='list file not found'):
        FaceImageDataset(ann_file=str(tmp_path / 'nope.txt'), pipeline=PIPE)


def test_original_lmdb_layout(face_folder, tmp_path):
    lmdb = pytest.importorskip('lmdb')
    paths = sorted(osp.join(face_folder, f) for f in os.listdir(face_folder))[:6]
    keys = [f'img_{i:04d}' for i in range(len(paths))]
    env = lmdb.open(str(tmp_path / 'faces.lmdb'), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for k, p in zip(keys, paths):
            txn.put(k.encode(), open(p, 'rb').read())
        txn.put(b'length', str(len(keys)).encode())
    env.close()
    (tmp_path / 'keys.txt').write_text('\n'.join(keys) + '\n')
    ds = FaceImageDataset(
        lmdb_path=str(tmp_path / 'faces.lmdb'),
        ann_file=str(tmp_path / 'keys.txt'),
        pipeline=[dict(type='PackInputs', algorithm_keys=[], meta_keys=['lmdb_key'])],
    )
    assert len(ds) == 6
    sample = ds[3]
    direct = decode_image(open(paths[3], 'rb').read())
    assert np.array_equal(sample['inputs'].permute(1, 2, 0).numpy(), direct)
    assert sample['data_samples'].lmdb_key == 'img_0003'
    # without a keys file, the `length` key enumerates 0..length-1 (the other layout of the original code)
    ds2 = FaceImageDataset(lmdb_path=str(tmp_path / 'faces.lmdb'), pipeline=PIPE)
    assert len(ds2) == 6


def test_skimage_faces_are_real_bundled_photos():
    ds = SkimageFaceDataset(pipeline=PIPE)
    assert len(ds) == 101
    assert ds[0]['inputs'].shape == (3, 32, 32)


def test_crop_face_geometry():
    img = np.zeros((100, 100, 3), np.uint8)
    img[40:60, 30:50] = 255  # a 20x20 "face" box centred at (40, 50)
    crop = crop_face(img, (30, 40, 50, 60), margin=0.5, size=40)  # side 40 px -> scale 1
    assert crop.shape == (40, 40, 3)
    assert crop[10:30, 10:30].min() == 255 and crop[:9].max() == 0 and crop[31:].max() == 0
    with pytest.raises(ValueError, match='degenerate'):
        crop_face(img, (50, 40, 30, 60))
