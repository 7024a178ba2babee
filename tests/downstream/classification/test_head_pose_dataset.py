"""HeadPoseMatDataset on .mat files written in the AFLW2000-3D / 300W-LP layouts: degree conversion and axis
order against a hand-made Pose_Para, the landmark box without AFLW2000's missing points, the +-99 filter, the
300W-LP folders with and without their _Flip copies, clear errors; the release's own files when
$MCF_MM_DATA/aflw2000_samples exists."""

import glob
import json
import math
import os
import os.path as osp

import numpy as np
import pytest

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures.attributes_pose import write_300w_lp, write_aflw2000, write_pose_pair
from mcf_mm.downstream.classification.datasets.aflw2000_pose import HeadPoseMatDataset, landmark_box, pose_degrees
from mcf_mm.registry import DATASETS, TRANSFORMS


def _infos(ds) -> list:
    """Every sample's info (the dataset serialises its list, so ``data_list`` is empty after init)."""
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert infos
    return infos


def test_degrees_and_axis_order_from_a_hand_made_pose_para(tmp_path):
    pitch, yaw, roll = 0.25, -1.1, 0.6  # radians, in Pose_Para's order
    pts = np.array([[10.0, 30.0, 20.0, -1.0], [12.0, 8.0, 40.0, 452.0]])  # [2, 4], the last point missing
    write_pose_pair(str(tmp_path), 'image00001', [pitch, yaw, roll], pts)
    ds = DATASETS.build(dict(type='HeadPoseMatDataset', data_root=str(tmp_path)))
    info = ds.get_data_info(0)
    assert info['gt_value'].dtype == np.float32 and info['gt_value'].shape == (3,)
    want = [yaw * 180 / math.pi, pitch * 180 / math.pi, roll * 180 / math.pi]  # (yaw, pitch, roll) degrees
    np.testing.assert_allclose(info['gt_value'], want, rtol=1e-6)
    np.testing.assert_array_equal(info['face_box'], np.float32([10.0, 8.0, 30.0, 40.0]))
    assert info['img_path'] == osp.join(str(tmp_path), 'image00001.jpg')
    assert ds.metainfo['targets'] == ('yaw', 'pitch', 'roll')


def test_pose_degrees_and_landmark_box_functions():
    np.testing.assert_allclose(pose_degrees([math.pi / 2, -math.pi / 4, math.pi, 1, 2, 3, 4]), [-45, 90, 180])
    with pytest.raises(ValueError, match='at least'):
        pose_degrees([0.1, 0.2])
    with pytest.raises(ValueError, match='1 valid points'):
        landmark_box(np.array([[5.0, -1.0], [5.0, 452.0]]))
    with pytest.raises(ValueError, match=r'must be \[2, K\]'):
        landmark_box(np.zeros((3, 5)))


def test_aflw2000_folder_and_the_max_abs_filter(tmp_path):
    poses = [(10, 20, 30), (-99, 0, 5), (0, 100, 0), (5, -5, -120), (-30, 60, 99.5)]  # (pitch, yaw, roll) deg
    written = write_aflw2000(str(tmp_path), poses)
    full = HeadPoseMatDataset(data_root=str(tmp_path))
    assert len(full) == 5 and full.num_filtered == 0
    for k, w in enumerate(written):
        info = full.get_data_info(k)
        p, y, r = w['pose_deg']
        np.testing.assert_allclose(info['gt_value'], [y, p, r], rtol=1e-5, atol=1e-5)
        valid = w['pt2d'][:, :-2]  # the two missing points are left out
        np.testing.assert_allclose(info['face_box'], [*valid.min(1), *valid.max(1)], rtol=1e-6)
    kept = HeadPoseMatDataset(data_root=str(tmp_path), max_abs=99)
    want = [i for i, pose in enumerate(poses) if max(abs(a) for a in pose) <= 99]
    assert [osp.basename(d['img_path']) for d in _infos(kept)] == [f'image{i:05d}.jpg' for i in want]
    assert kept.num_filtered == len(poses) - len(want) == 3


def test_300w_lp_folders_with_and_without_flip(tmp_path):
    written = write_300w_lp(str(tmp_path), per_folder=2)
    both = HeadPoseMatDataset(data_root=str(tmp_path), layout='300w_lp')
    assert len(both) == 16
    folders = {osp.basename(osp.dirname(d['img_path'])) for d in _infos(both)}
    assert folders == set(written)
    no_flip = HeadPoseMatDataset(data_root=str(tmp_path), layout='300w_lp', with_flip=False)
    assert len(no_flip) == 8
    assert all(not osp.dirname(d['img_path']).endswith('_Flip') for d in _infos(no_flip))
    # the _Flip copies carry their own (mirrored) angles: yaw and roll negated in this fixture, pitch kept
    plain = {osp.basename(d['img_path']): d['gt_value'] for d in _infos(both) if 'Flip' not in d['img_path']}
    for d in _infos(both):
        if '_Flip' in d['img_path']:
            y, p, r = plain[osp.basename(d['img_path'])]
            np.testing.assert_allclose(d['gt_value'], [-y, p, -r], rtol=1e-5)
    only_afw = HeadPoseMatDataset(data_root=str(tmp_path), layout='300w_lp', subsets=['AFW'], with_flip=False)
    assert len(only_afw) == 2


def test_crop_face_box_cuts_the_documented_square(tmp_path):
    """face_box feeds CropFaceBox: side = longer box side x (1 + 2 x margin) about the box centre."""
    pts = np.array([[12.0, 36.0, 20.0], [16.0, 28.0, 30.0]])  # box 12..36 x 16..30: 24 x 14
    write_pose_pair(str(tmp_path), 'image00001', [0.0, 0.0, 0.0], pts, size=48)
    ds = HeadPoseMatDataset(
        data_root=str(tmp_path),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='mcf_mm.CropFaceBox', size=24, margin=0.25)],
    )
    out = ds[0]
    assert out['img'].shape == (24, 24, 3)
    import cv2

    img = cv2.imread(ds.get_data_info(0)['img_path'])
    # square side 24 x 1.5 = 36 about the box centre (24, 23), scale 24 / 36: crop index u <- source
    # 24 + (u - 12) x 1.5 (likewise y about 23); even u, v land on source pixel centres
    for u, v in [(12, 12), (14, 10), (8, 16), (16, 14)]:
        x, y = 24 + (u - 12) * 1.5, 23 + (v - 12) * 1.5
        np.testing.assert_allclose(out['img'][v, u].astype(float), img[int(y), int(x)].astype(float), atol=1)
    assert TRANSFORMS.get('CropFaceBox') is not None


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='is not a folder'):
        HeadPoseMatDataset(data_root=str(tmp_path / 'nowhere'))
    with pytest.raises(ValueError, match='layout must be'):
        HeadPoseMatDataset(data_root=str(tmp_path), layout='biwi')
    with pytest.raises(ValueError, match='max_abs must be > 0'):
        HeadPoseMatDataset(data_root=str(tmp_path), max_abs=0)
    os.makedirs(tmp_path / 'empty')
    with pytest.raises(FileNotFoundError, match='no .mat annotation'):
        HeadPoseMatDataset(data_root=str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='300W-LP folder .*AFW not found'):
        HeadPoseMatDataset(data_root=str(tmp_path / 'empty'), layout='300w_lp')
    lone = tmp_path / 'lone'
    write_pose_pair(str(lone), 'image00001', [0.1, 0.2, 0.3], np.ones((2, 3)) * [[1], [2]] + np.arange(3))
    os.remove(lone / 'image00001.jpg')
    with pytest.raises(FileNotFoundError, match='has no image image00001.jpg'):
        HeadPoseMatDataset(data_root=str(lone))
    from scipy.io import savemat

    bad = tmp_path / 'bad'
    write_pose_pair(str(bad), 'image00001', [0.1, 0.2, 0.3], np.ones((2, 3)) * [[1], [2]] + np.arange(3))
    savemat(str(bad / 'image00001.mat'), {'pt2d': np.ones((2, 3))})
    with pytest.raises(KeyError, match=r"lacks \['Pose_Para'\]"):
        HeadPoseMatDataset(data_root=str(bad))
    filtered = tmp_path / 'far'
    write_pose_pair(str(filtered), 'image00001', [0.0, 2.0, 0.0], np.ones((2, 3)) * [[1], [2]] + np.arange(3))
    with pytest.raises(ValueError, match='no face within max_abs=99'):
        HeadPoseMatDataset(data_root=str(filtered), max_abs=99)


REAL = osp.join(os.environ.get('MCF_MM_DATA', ''), 'aflw2000_samples')


@pytest.mark.skipif(
    'MCF_MM_DATA' not in os.environ or not osp.isdir(REAL), reason='real AFLW2000-3D samples need $MCF_MM_DATA'
)
def test_real_aflw2000_files():
    """The release's .mat files read as documented: angles against the JSON copy of Pose_Para, missing points
    (x = -1) left out of the box, the box inside the 450 x 450 image."""
    folder = glob.glob(osp.join(REAL, '**', 'AFLW2000'), recursive=True)[0]
    ds = HeadPoseMatDataset(data_root=folder)
    items = {osp.basename(e['file']): e for e in json.load(open(osp.join(REAL, 'aflw2000_landmarks.json')))['items']}
    assert len(ds) == len(items) > 0
    for d in _infos(ds):
        e = items[osp.basename(d['img_path'])]
        pitch, yaw, roll = np.degrees(e['pose_para'][:3])
        np.testing.assert_allclose(d['gt_value'], [yaw, pitch, roll], rtol=0, atol=1e-3)  # the JSON copy is rounded
        pts = np.asarray(e['pt2d_21_xy'], dtype=np.float64)  # [21, 2]
        valid = pts[(pts >= 0).all(1)]
        np.testing.assert_allclose(d['face_box'], [*valid.min(0), *valid.max(0)], rtol=1e-5)
        assert 0 <= d['face_box'][0] < d['face_box'][2] <= 450 and 0 <= d['face_box'][1] < d['face_box'][3] <= 450
