"""UTKFaceDataset on a fixture folder in the release's layout (``age_gender_race_date.jpg.chip.jpg`` files): labels
from the names, the file-name hash split (checked against SHA-1 written here), malformed names counted, errors."""

import hashlib
import os.path as osp
import warnings

import cv2
import numpy as np
import pytest
from mmengine.registry import DefaultScope

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures.utkface import MALFORMED, write_utkface
from mcf_mm.downstream.classification.datasets.utkface import UTKFaceDataset
from mcf_mm.registry import DATASETS


def expected_split(name: str) -> str:
    """The documented rule: SHA-1 of the base name, first 8 bytes big-endian, mod 100: <70 train, <80 val."""
    bucket = int(hashlib.sha1(name.encode()).hexdigest()[:16], 16) % 100
    return 'train' if bucket < 70 else 'val' if bucket < 80 else 'test'


def build(root: str, **kwargs) -> UTKFaceDataset:
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return UTKFaceDataset(data_root=root, **kwargs)


def names(ds: UTKFaceDataset) -> set:
    return {osp.basename(ds.get_data_info(i)['img_path']) for i in range(len(ds))}


@pytest.mark.parametrize('task', ['age', 'gender', 'race'])
def test_labels_come_from_the_file_names(task, tmp_path):
    labels = write_utkface(str(tmp_path))
    ds = build(str(tmp_path), task=task, split='all')
    assert len(ds) == len(labels)
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        age, gender, race = labels[osp.basename(info['img_path'])]
        if task == 'age':
            assert info['gt_value'].dtype == np.float32 and info['gt_value'].shape == (1,)
            assert info['gt_value'][0] == age and 'gt_label' not in info
        else:
            assert info['gt_label'] == (gender if task == 'gender' else race) and 'gt_value' not in info
    classes = ds.metainfo.get('classes')
    assert (
        classes
        == {'age': None, 'gender': ('male', 'female'), 'race': ('White', 'Black', 'Asian', 'Indian', 'Others')}[task]
    )


def test_malformed_names_are_skipped_and_counted(tmp_path):
    write_utkface(str(tmp_path))
    with pytest.warns(UserWarning, match=r'skipped 3 file\(s\)'):
        ds = UTKFaceDataset(data_root=str(tmp_path), task='age', split='all')
    assert ds.num_malformed == 3
    assert not names(ds) & set(MALFORMED)


def test_split_follows_the_hash_rule_and_is_stable(tmp_path):
    labels = write_utkface(str(tmp_path), n=120)
    splits = {s: names(build(str(tmp_path), task='gender', split=s)) for s in ('train', 'val', 'test', 'trainval')}
    for s in ('train', 'val', 'test'):
        assert splits[s] == {n for n in labels if expected_split(n) == s}, s
        assert splits[s], f'120 names leave {s} empty'
    assert splits['train'] | splits['val'] | splits['test'] == set(labels)
    assert not splits['train'] & splits['test'] and not splits['val'] & splits['test']
    assert splits['trainval'] == splits['train'] | splits['val']
    # more files (in another folder) leave every earlier file in its split
    more = write_utkface(str(tmp_path / 'extra'), n=60, seed=1, start=1000)
    for s in ('train', 'val', 'test'):
        now = names(build(str(tmp_path), task='gender', split=s))
        assert now & set(labels) == splits[s]
        assert now - set(labels) == {n for n in more if expected_split(n) == s}


def test_age_range_filter(tmp_path):
    labels = write_utkface(str(tmp_path))
    ds = build(str(tmp_path), task='age', split='all', min_age=20, max_age=60)
    assert names(ds) == {n for n, (a, _, _) in labels.items() if 20 <= a <= 60}


def test_pipeline_packs_the_regression_target(tmp_path):
    labels = write_utkface(str(tmp_path))
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(8, 8)),
        dict(type='PackInputs', algorithm_keys=('gt_value',)),
    ]
    with DefaultScope.overwrite_default_scope('mcf_mm'):
        ds = DATASETS.build(
            dict(type='UTKFaceDataset', data_root=str(tmp_path), task='age', split='all', pipeline=pipeline)
        )
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 8, 8)
    age = labels[osp.basename(out['data_samples'].img_path)][0]
    assert np.asarray(out['data_samples'].gt_value).tolist() == [float(age)]


def test_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='set data_root'):
        UTKFaceDataset(data_root=str(tmp_path / 'missing'))
    (tmp_path / 'wild').mkdir()
    cv2.imwrite(str(tmp_path / 'wild' / '25_0_1_20170101.jpg'), np.zeros((4, 4, 3), np.uint8))  # in-the-wild name
    with pytest.raises(ValueError, match='no UTKFace crops'):
        UTKFaceDataset(data_root=str(tmp_path / 'wild'))
    (tmp_path / 'one' / 'UTKFace').mkdir(parents=True)
    name = next(
        f'{i}_0_0_20170101.jpg.chip.jpg'
        for i in range(1, 500)
        if expected_split(f'{i}_0_0_20170101.jpg.chip.jpg') == 'train'
    )
    cv2.imwrite(str(tmp_path / 'one' / 'UTKFace' / name), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match='split="all"'):
        UTKFaceDataset(data_root=str(tmp_path / 'one'), split='test')
    with pytest.raises(ValueError, match='task'):
        UTKFaceDataset(data_root=str(tmp_path / 'one'), task='emotion')
    with pytest.raises(ValueError, match='split'):
        UTKFaceDataset(data_root=str(tmp_path / 'one'), split='dev')
    with pytest.raises(ValueError, match='ann_file'):
        UTKFaceDataset(data_root=str(tmp_path / 'one'), ann_file='labels.txt')
