"""Fixtures of the alignment tests: tiny dataset roots in the original annotation formats."""

import os
import os.path as osp

import pytest

from mcf_fixtures.alignment import WFLW_ATTRIBUTES, hrnet_rows, write_aflw, write_helen, write_hrnet_csv


@pytest.fixture
def aflw_root(tmp_path):
    root = str(tmp_path / 'aflw')
    os.makedirs(root)
    return root, write_aflw(root)


@pytest.fixture
def w300_root(tmp_path):
    root = str(tmp_path / '300w')
    train, common, challenge = hrnet_rows(root, 68, 2, 1), hrnet_rows(root, 68, 2, 2), hrnet_rows(root, 68, 1, 3)
    write_hrnet_csv(osp.join(root, 'face_landmarks_300w_train.csv'), train)
    write_hrnet_csv(osp.join(root, 'face_landmarks_300w_valid.csv'), common + challenge)
    write_hrnet_csv(osp.join(root, 'face_landmarks_300w_valid_common.csv'), common)
    write_hrnet_csv(osp.join(root, 'face_landmarks_300w_valid_challenge.csv'), challenge)
    return root, dict(train=train, common=common, challenge=challenge)


@pytest.fixture
def wflw_root(tmp_path):
    root = str(tmp_path / 'wflw')
    train, test = hrnet_rows(root, 98, 2, 4), hrnet_rows(root, 98, 3, 5)
    write_hrnet_csv(osp.join(root, 'face_landmarks_wflw_train.csv'), train)
    write_hrnet_csv(osp.join(root, 'face_landmarks_wflw_test.csv'), test)
    for j, a in enumerate(WFLW_ATTRIBUTES):  # attribute j holds test row j % 3
        write_hrnet_csv(osp.join(root, f'face_landmarks_wflw_test_{a}.csv'), [test[j % 3]])
    return root, dict(train=train, test=test)


@pytest.fixture
def helen_root(tmp_path):
    root = str(tmp_path / 'helen29')
    return root, write_helen(root)
