"""CelebAAttrDataset on a tiny CelebA release written in the original layout: splits from the partition file,
gt_label = the positive attributes (mmpretrain's multi-label convention), attribute subsets, clear errors."""

import os.path as osp

import numpy as np
import pytest

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures.attributes_pose import CELEBA_NAMES, write_celeba
from mcf_mm.downstream.classification.datasets.celeba import CELEBA_ATTRIBUTES, CelebAAttrDataset
from mcf_mm.registry import DATASETS

PARTITIONS = (0, 0, 0, 2, 1, 0, 2, 1, 0)


@pytest.fixture()
def celeba(tmp_path):
    root = str(tmp_path / 'celeba')
    return root, write_celeba(root, PARTITIONS)


def test_names_are_the_release_header():
    assert CELEBA_ATTRIBUTES == tuple(CELEBA_NAMES) and len(CELEBA_ATTRIBUTES) == 40


@pytest.mark.parametrize('split,part', [('train', 0), ('val', 1), ('test', 2)])
def test_split_and_positive_indices(celeba, split, part):
    root, values = celeba
    ds = DATASETS.build(dict(type='CelebAAttrDataset', data_root=root, split=split))
    want = [i for i, p in enumerate(PARTITIONS) if p == part]
    assert len(ds) == len(want)
    assert ds.metainfo['classes'] == CELEBA_ATTRIBUTES
    for k, i in enumerate(want):
        info = ds.get_data_info(k)
        assert info['img_path'] == osp.join(root, 'img_align_celeba', f'{i + 1:06d}.jpg')
        assert osp.isfile(info['img_path'])
        assert info['gt_label'] == list(np.flatnonzero(values[i] == 1))
        assert ds.get_cat_ids(k) == info['gt_label']


def test_attribute_subset_reindexes(celeba):
    root, values = celeba
    subset = ['Smiling', 'Male', 'Eyeglasses']
    ds = CelebAAttrDataset(data_root=root, split='train', attributes=subset)
    assert ds.metainfo['classes'] == tuple(subset)
    cols = [CELEBA_NAMES.index(a) for a in subset]
    train = [i for i, p in enumerate(PARTITIONS) if p == 0]
    for k, i in enumerate(train):
        assert ds.get_data_info(k)['gt_label'] == [j for j, c in enumerate(cols) if values[i, c] == 1]


def test_the_pipeline_packs_a_multi_label_sample(celeba):
    root, values = celeba
    ds = CelebAAttrDataset(
        data_root=root, split='val', pipeline=[dict(type='LoadImageFromFile'), dict(type='PackInputs')]
    )
    out = ds[0]
    i = PARTITIONS.index(1)
    assert tuple(out['inputs'].shape) == (3, 22, 18)
    assert out['data_samples'].gt_label.tolist() == list(np.flatnonzero(values[i] == 1))


def test_missing_files_are_named(tmp_path, celeba):
    root, _ = celeba
    with pytest.raises(FileNotFoundError, match='list_attr_celeba.txt'):
        CelebAAttrDataset(data_root=str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError, match='list_eval_partition.txt'):
        CelebAAttrDataset(data_root=root, partition_file='missing_partition.txt')


def test_a_line_with_the_wrong_number_of_values_is_refused(celeba):
    root, _ = celeba
    path = osp.join(root, 'list_attr_celeba.txt')
    lines = open(path).read().splitlines()
    lines[4] = ' '.join(lines[4].split()[:-1])  # drop the last value of image 3
    open(path, 'w').write('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=r'list_attr_celeba.txt:5: 39 values for 40 attributes'):
        CelebAAttrDataset(data_root=root)


def test_wrong_count_values_and_partition_are_refused(celeba):
    root, _ = celeba
    path = osp.join(root, 'list_attr_celeba.txt')
    lines = open(path).read().splitlines()
    open(path, 'w').write('\n'.join(['99'] + lines[1:]) + '\n')
    with pytest.raises(ValueError, match='line 1 says 99 images'):
        CelebAAttrDataset(data_root=root)
    open(path, 'w').write('\n'.join(lines[:3] + [lines[3].replace(' 1', ' 0', 1)] + lines[4:]) + '\n')
    with pytest.raises(ValueError, match='must be 1 or -1'):
        CelebAAttrDataset(data_root=root)
    open(path, 'w').write('\n'.join(lines) + '\n')
    part = osp.join(root, 'list_eval_partition.txt')
    open(part, 'w').write('000001.jpg 0\n')
    with pytest.raises(ValueError, match='have no partition'):
        CelebAAttrDataset(data_root=root)
    open(part, 'w').write('000001.jpg 3\n')
    with pytest.raises(ValueError, match='expected "<image> <0|1|2>"'):
        CelebAAttrDataset(data_root=root)


def test_bad_arguments(celeba):
    root, _ = celeba
    with pytest.raises(ValueError, match='split must be one of'):
        CelebAAttrDataset(data_root=root, split='validation')
    with pytest.raises(ValueError, match="unknown: \\['Beard'\\]"):
        CelebAAttrDataset(data_root=root, attributes=['Male', 'Beard'])


def test_a_header_that_is_not_the_release_one_is_refused(celeba):
    root, _ = celeba
    path = osp.join(root, 'list_attr_celeba.txt')
    lines = open(path).read().splitlines()
    names = lines[1].split()
    open(path, 'w').write('\n'.join([lines[0], ' '.join([names[1], names[0]] + names[2:])] + lines[2:]) + '\n')
    with pytest.raises(ValueError, match='not the 40 CelebA names in release order'):
        CelebAAttrDataset(data_root=root)
    open(path, 'w').write('\n'.join(lines[1:]) + '\n')  # no count line
    with pytest.raises(ValueError, match='image count on line 1'):
        CelebAAttrDataset(data_root=root)
