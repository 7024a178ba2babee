"""Each dataset class reads small fixtures in its original annotation format."""

import os.path as osp

import numpy as np
import pytest

from mcf_mm.downstream.alignment.datasets import (
    AFLW19MatDataset,
    Face300WCSVDataset,
    Helen29MatDataset,
    WFLWCSVDataset,
    helen_split,
)


def test_aflw19_reads_mat_with_ra_split_and_frontal_tags(aflw_root):
    root, ref = aflw_root
    kw = dict(data_root=root, ann_file='AFLWinfo_release.mat', data_prefix=dict(img='data/flickr/'), num_train=4)
    train = AFLW19MatDataset(split='train', **kw)
    test = AFLW19MatDataset(split='test', test_mode=True, **kw)
    assert [d['id'] for d in train] == list(ref['ra'][:4])
    assert [d['id'] for d in test] == list(ref['ra'][4:])  # indices 4 and 3
    d = test[0]
    i = ref['ra'][4]
    np.testing.assert_allclose(d['keypoints'][0], ref['pts'][i], rtol=1e-6)
    x1, x2, y1, y2 = ref['bbox'][i]
    np.testing.assert_allclose(d['bbox'][0], [x1, y1, x2, y2])
    assert d['img_path'] == osp.join(root, 'data/flickr/', ref['names'][i])
    assert d['subsets'] == ([] if i in (1, 4) else ['frontal'])
    assert [t['subsets'] for t in test] == [[], ['frontal']]  # face 4 is occluded, face 3 frontal


def test_300w_reads_hrnet_csv_and_tags_common_challenging(w300_root):
    root, ref = w300_root
    ds = Face300WCSVDataset(
        data_root=root,
        ann_file='face_landmarks_300w_valid.csv',
        data_prefix=dict(img='images/'),
        subset_files=dict(
            common='face_landmarks_300w_valid_common.csv', challenging='face_landmarks_300w_valid_challenge.csv'
        ),
        test_mode=True,
    )
    assert len(ds) == 3
    assert [d['subsets'] for d in ds] == [['common'], ['common'], ['challenging']]
    name, s, cx, cy, pts = ref['common'][1]
    d = ds[1]
    np.testing.assert_allclose(d['bbox'][0], [cx - 100 * s, cy - 100 * s, cx + 100 * s, cy + 100 * s], rtol=1e-6)
    np.testing.assert_allclose(d['keypoints'][0], pts, atol=1e-3)
    assert d['keypoints'].shape == (1, 68, 2)


def test_wflw_reads_hrnet_csv_with_attribute_subsets(wflw_root):
    root, ref = wflw_root
    attrs = ('largepose', 'expression', 'illumination', 'makeup', 'occlusion', 'blur')
    ds = WFLWCSVDataset(
        data_root=root,
        ann_file='face_landmarks_wflw_test.csv',
        data_prefix=dict(img='images/'),
        subset_files={a: f'face_landmarks_wflw_test_{a}.csv' for a in attrs},
        test_mode=True,
    )
    assert [sorted(d['subsets']) for d in ds] == [sorted(attrs[j] for j in range(6) if j % 3 == i) for i in range(3)]
    assert ds[2]['keypoints'].shape == (1, 98, 2)


def test_wrong_keypoint_count_names_the_problem(w300_root):
    root, _ = w300_root
    with pytest.raises(ValueError, match='right dataset type'):
        WFLWCSVDataset(data_root=root, ann_file='face_landmarks_300w_train.csv', data_prefix=dict(img='images/'))
    with pytest.raises(FileNotFoundError, match='data_root'):
        WFLWCSVDataset(data_root=root, ann_file='missing.csv')


def test_helen29_reads_mat_and_splits_by_sorted_name_keeping_photos_together(helen_root):
    root, ref = helen_root
    kw = dict(data_root=root, ann_file='data/helen.mat', data_prefix=dict(img='data/img/'), test_ratio=0.4)
    train = Helen29MatDataset(split='train', **kw)
    test = Helen29MatDataset(split='test', test_mode=True, **kw)
    # sorted: 100_1 100_2 150_1 200_1 300_1 300_2 -> cut at 4 (60 %)
    assert [osp.basename(d['img_path']) for d in train] == ['100_1.jpg', '100_2.jpg', '150_1.jpg', '200_1.jpg']
    assert [osp.basename(d['img_path']) for d in test] == ['300_1.jpg', '300_2.jpg']
    d = test[0]
    pts = ref['pts'][ref['names'].index('300_1.jpg')] - 1.0  # helen.mat is MATLAB 1-based; read 0-based
    np.testing.assert_allclose(d['keypoints'][0], pts, rtol=1e-6)
    np.testing.assert_allclose(d['bbox'][0], [*pts.min(0), *pts.max(0)], rtol=1e-6)
    # the boundary moves past faces of the same photo
    names = ['a_1.jpg', 'b_1.jpg', 'b_2.jpg', 'c_1.jpg']
    assert helen_split(names, 'train', 0.5) == [0, 1, 2]


def test_helen29_real_release_is_read_zero_based():
    """On the real Helen-29 release (when $MCF_MM_DATA/helen29 exists): every face's points are the JSON copy's
    MATLAB 1-based pixels minus 1, and all lie inside the image's 0-based pixel range [-0.5, W - 0.5]."""
    import json
    import os

    root = osp.join(os.environ.get('MCF_MM_DATA', 'data'), 'helen29')
    if not osp.isfile(osp.join(root, 'helen29_landmarks.json')):
        pytest.skip('real Helen-29 not available (set MCF_MM_DATA to the folder holding helen29/)')
    ref = {osp.basename(e['file']): e for e in json.load(open(osp.join(root, 'helen29_landmarks.json')))['items']}
    kw = dict(data_root=root, ann_file='data/helen.mat', data_prefix=dict(img='data/img/'))
    faces = [d for split in ('train', 'test') for d in Helen29MatDataset(split=split, test_mode=True, **kw)]
    assert len(faces) == len(ref) == 348
    for d in faces:
        e = ref[osp.basename(d['img_path'])]
        one_based = np.asarray(e['landmarks_29_xy'], np.float64)
        np.testing.assert_allclose(d['keypoints'][0], one_based - 1.0, atol=1e-9)
        assert (d['keypoints'][0] >= -0.5).all()
        assert (d['keypoints'][0][:, 0] <= e['width'] - 0.5).all() and (
            d['keypoints'][0][:, 1] <= e['height'] - 0.5
        ).all()
