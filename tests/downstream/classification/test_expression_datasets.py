"""RAF-DB and AffectNet read from tiny releases in their original layouts: labels, splits, 7/8-way filtering,
face boxes, missing files and wrong roots."""

import os
import os.path as osp
from collections import Counter

import cv2
import numpy as np
import pytest

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures.expression import affectnet_row, write_affectnet, write_raf_db
from mcf_mm.downstream.classification import CropFaceBox
from mcf_mm.downstream.classification.datasets.affectnet import AffectNetDataset
from mcf_mm.downstream.classification.datasets.raf_db import RAFDBDataset
from mcf_mm.registry import DATASETS

# the release's 1-based label names (RAF-DB README), written here independently of the module
RAF_NAMES = {1: 'Surprise', 2: 'Fear', 3: 'Disgust', 4: 'Happiness', 5: 'Sadness', 6: 'Anger', 7: 'Neutral'}
AFFECT_NAMES = ['Neutral', 'Happy', 'Sad', 'Surprise', 'Fear', 'Disgust', 'Anger', 'Contempt']
RAF_TRAIN, RAF_TEST = [5, 1, 7, 4, 4, 2], [7, 2, 3, 6]


@pytest.fixture
def raf_root(tmp_path):
    return write_raf_db(str(tmp_path / 'raf-db'), RAF_TRAIN, RAF_TEST)


@pytest.mark.parametrize('split,labels', [('train', RAF_TRAIN), ('test', RAF_TEST)])
def test_raf_db_labels_are_0_based_with_the_release_names(raf_root, split, labels):
    ds = DATASETS.build(dict(type='RAFDBDataset', data_root=raf_root, split=split))
    assert len(ds) == len(labels)
    assert ds.test_mode == (split == 'test')
    names = ds.metainfo['classes']
    assert len(names) == 7
    for i, label in enumerate(labels):
        info = ds.get_data_info(i)
        assert info['gt_label'] == label - 1
        assert names[info['gt_label']] == RAF_NAMES[label]
        digits = 5 if split == 'train' else 4
        assert info['img_path'] == osp.join(raf_root, 'Image', 'aligned', f'{split}_{i + 1:0{digits}d}_aligned.jpg')


def test_raf_db_pipeline_loads_the_aligned_image(raf_root):
    ds = RAFDBDataset(raf_root, split='test', pipeline=[dict(type='LoadImageFromFile')])
    out = ds[2]
    assert out['img'].shape == (100, 100, 3)
    expected = cv2.imread(osp.join(raf_root, 'Image', 'aligned', 'test_0003_aligned.jpg'))
    assert np.array_equal(out['img'], expected) and out['gt_label'] == 3 - 1


def test_raf_db_wrong_root_names_the_expected_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='EmoLabel/list_patition_label.txt.*Image/aligned'):
        RAFDBDataset(str(tmp_path), split='train')


def test_raf_db_missing_aligned_image_is_an_error(raf_root):
    os.remove(osp.join(raf_root, 'Image', 'aligned', 'train_00002_aligned.jpg'))
    with pytest.raises(FileNotFoundError, match=r'1 of 6 RAF-DB train images are missing.*train_00002_aligned'):
        RAFDBDataset(raf_root, split='train')
    assert len(RAFDBDataset(raf_root, split='test')) == len(RAF_TEST)


@pytest.mark.parametrize('line', ['train_00001.jpg 8', 'train_00001.jpg 0', 'train_00001.jpg', 'a b c'])
def test_raf_db_bad_label_line_is_an_error_naming_it(raf_root, line):
    with open(osp.join(raf_root, 'EmoLabel', 'list_patition_label.txt'), 'a') as f:
        f.write(line + '\n')
    with pytest.raises(ValueError, match=f'line {len(RAF_TRAIN) + len(RAF_TEST) + 1}'):
        RAFDBDataset(raf_root, split='train')


def test_raf_db_bad_split(raf_root):
    with pytest.raises(ValueError, match="split='val'"):
        RAFDBDataset(raf_root, split='val')


# ---------------------------------------------------------------- AffectNet


def _rows(expressions, prefix):
    rows = []
    for i, e in enumerate(expressions):
        box = (3 + i % 5, 2 + i % 7, 30 + i % 11, 28 + i % 13)
        rows.append(affectnet_row(f'{100 + i % 3}/{prefix}_{i:03d}.jpg', e, box, valence=0.1 * i, arousal=-0.05 * i))
    return rows


TRAIN_EXPR = [i % 11 for i in range(40)] + [1, 1, 1, 0]  # 0..10, happy and neutral more often
VAL_EXPR = [i % 11 for i in range(22)]


@pytest.fixture
def affect_root(tmp_path):
    return write_affectnet(str(tmp_path / 'affectnet'), _rows(TRAIN_EXPR, 'tr'), _rows(VAL_EXPR, 'va'))


@pytest.mark.parametrize('num_classes', [7, 8])
@pytest.mark.parametrize('split,expressions', [('train', TRAIN_EXPR), ('val', VAL_EXPR)])
def test_affectnet_keeps_the_right_rows(affect_root, num_classes, split, expressions):
    ds = DATASETS.build(dict(type='AffectNetDataset', data_root=affect_root, split=split, num_classes=num_classes))
    keep = [e for e in expressions if e <= 6 or (num_classes == 8 and e == 7)]
    assert len(ds) == len(keep)
    assert Counter(ds.get_gt_labels().tolist()) == Counter(keep)
    assert list(ds.metainfo['classes']) == AFFECT_NAMES[:num_classes]
    assert ds.test_mode == (split == 'val')
    assert 7 not in ds.get_gt_labels() if num_classes == 7 else (ds.get_gt_labels() == 7).sum() == keep.count(7)


def test_affectnet_boxes_paths_and_scores_follow_the_csv(affect_root):
    ds = AffectNetDataset(affect_root, split='val', num_classes=8)
    kept = [(i, e) for i, e in enumerate(VAL_EXPR) if e <= 7]
    for k, (i, e) in enumerate(kept):
        info = ds.get_data_info(k)
        x, y, w, h = 3 + i % 5, 2 + i % 7, 30 + i % 11, 28 + i % 13
        assert np.array_equal(info['face_box'], np.array([x, y, x + w, y + h], np.float32))
        assert info['img_path'] == osp.join(affect_root, 'Manually_Annotated_Images', f'{100 + i % 3}/va_{i:03d}.jpg')
        assert info['gt_label'] == e
        assert info['valence'] == pytest.approx(0.1 * i) and info['arousal'] == pytest.approx(-0.05 * i)


def test_affectnet_face_box_crop_is_the_box(tmp_path):
    """A square box inside the image, cropped at its own size with no margin, is exactly the box's pixels."""
    x, y, s = 11, 7, 40
    root = write_affectnet(str(tmp_path / 'a'), [affectnet_row('1/a.jpg', 2, (x, y, s, s))], [], image_hw=(80, 96))
    ds = AffectNetDataset(
        root,
        split='train',
        pipeline=[dict(type='LoadImageFromFile'), CropFaceBox(size=s, margin=0.0)],
    )
    out = ds[0]
    img = cv2.imread(osp.join(root, 'Manually_Annotated_Images', '1', 'a.jpg'))
    assert np.array_equal(out['img'], img[y : y + s, x : x + s])


def test_affectnet_csvs_in_the_list_folder_and_without_header(tmp_path):
    rows = _rows([0, 1, 7, 9], 'x')
    root = write_affectnet(
        str(tmp_path / 'a'), rows, rows, header=(False, True), list_dir='Manually_Annotated_file_lists'
    )
    for split in ('train', 'val'):
        assert AffectNetDataset(root, split=split, num_classes=8).get_gt_labels().tolist() == [0, 1, 7]


def test_affectnet_missing_images_error_or_are_skipped_with_a_warning(tmp_path):
    rows = _rows([0, 1, 2, 3, 7, 8], 'm')
    absent = [rows[1][0], rows[4][0], rows[5][0]]  # a kept row, a contempt row, a dropped (8) row
    root = write_affectnet(str(tmp_path / 'a'), rows, rows, absent=absent)
    with pytest.raises(FileNotFoundError, match=r"1 of 4 images.*missing='skip'"):
        AffectNetDataset(root, split='train', num_classes=7)
    with pytest.warns(UserWarning, match=r'skipped 2 of 5 listed images'):
        ds = AffectNetDataset(root, split='train', num_classes=8, missing='skip')
    assert ds.get_gt_labels().tolist() == [0, 2, 3]
    img_dir = osp.join(root, 'Manually_Annotated_Images')
    assert ds.skipped == [osp.join(img_dir, absent[0]), osp.join(img_dir, absent[1])]


def test_affectnet_wrong_root_and_bad_rows(tmp_path, affect_root):
    with pytest.raises(FileNotFoundError, match='training.csv.*Manually_Annotated_file_lists/training.csv'):
        AffectNetDataset(str(tmp_path), split='train')
    with pytest.raises(ValueError, match='num_classes=6'):
        AffectNetDataset(affect_root, num_classes=6)
    with pytest.raises(ValueError, match="split='test'"):
        AffectNetDataset(affect_root, split='test')
    with open(osp.join(affect_root, 'validation.csv'), 'a') as f:
        f.write('1/z.jpg,1,2,3\n')
    with pytest.raises(ValueError, match=f'line {len(VAL_EXPR) + 1}: 4 fields, expected 9'):
        AffectNetDataset(affect_root, split='val')


def test_affectnet_missing_image_folder(tmp_path):
    root = str(tmp_path / 'a')
    write_affectnet(root, _rows([0], 'q'), _rows([0], 'q'))
    os.rename(osp.join(root, 'Manually_Annotated_Images'), osp.join(root, 'imgs'))
    with pytest.raises(FileNotFoundError, match='Manually_Annotated_Images'):
        AffectNetDataset(root, split='val')
