"""Datasets read fixtures in the release layouts; pipelines produce aligned crops and original-size labels."""

import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS

import mcf_mm.downstream.parsing  # noqa: F401
from mcf_mm.downstream.parsing.celebamask_hq import (
    CELEBAMASK_HQ_CLASSES,
    CELEBAMASK_HQ_PAINT_ORDER,
    celebamask_hq_split,
)
from mcf_mm.downstream.parsing.datasets import read_lapa_landmarks
from mcf_mm.downstream.parsing.warp import original_to_warped, template_points

TOOLS = osp.join(osp.dirname(__file__), '..', '..', '..', 'tools', 'dataset_converters')


def _lapa_pipeline(train: bool, canvas=64):
    align = dict(type='FaceAlign', canvas_size=canvas, source='landmarks', landmark_indices=(104, 105, 54, 84, 90))
    if train:
        return [
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            align,
            dict(type='RandomFaceAffine'),
            dict(type='RoITanhWarp', warp_factor=0.8),
            dict(type='FaceRandomGray', prob=1.0),
            dict(type='FaceRandomGamma'),
            dict(type='FaceRandomBlur', max_ratio=0.1),
            dict(type='PackFaceSegInputs'),
        ]
    return [
        dict(type='LoadImageFromFile'),
        align,
        dict(type='RoITanhWarp', warp_factor=0.8, warp_label=False),
        dict(type='LoadAnnotations'),
        dict(type='PackFaceSegInputs'),
    ]


def test_lapa_reads_release_layout_with_landmarks(lapa_root):
    init_default_scope('mmseg')
    ds = DATASETS.build(dict(type='LaPaDataset', data_root=lapa_root, split='train', pipeline=[]))
    assert len(ds) == 3 and ds.metainfo['classes'][10] == 'hair' and len(ds.metainfo['classes']) == 11
    info = ds.get_data_info(0)
    lmk = read_lapa_landmarks(osp.join(lapa_root, 'train', 'landmarks', 'train_000.txt'))
    np.testing.assert_allclose(info['face_landmarks'], lmk)
    assert info['face_landmarks'].shape == (106, 2)
    assert info['seg_map_path'].endswith(osp.join('train', 'labels', 'train_000.png'))

    train = DATASETS.build(dict(type='LaPaDataset', data_root=lapa_root, split='train', pipeline=_lapa_pipeline(True)))
    out = train[1]
    assert out['inputs'].shape == (3, 64, 64)
    gray = out['inputs']
    assert (gray[0] == gray[1]).all() and (gray[1] == gray[2]).all()  # FaceRandomGray(prob=1)
    assert out['data_samples'].gt_sem_seg.data.shape == (1, 64, 64)

    test = DATASETS.build(
        dict(type='LaPaDataset', data_root=lapa_root, split='test', test_mode=True, pipeline=_lapa_pipeline(False))
    )
    out = test[0]
    meta = out['data_samples'].metainfo
    gt = cv2.imread(osp.join(lapa_root, 'test', 'labels', 'test_000.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(out['data_samples'].gt_sem_seg.data[0].numpy(), gt)  # original labels
    assert out['inputs'].shape == (3, 64, 64) and meta['warp_factor'] == 0.8
    # the matrix is the least-squares similarity of the 5 landmarks onto the template (independent lstsq)
    five = read_lapa_landmarks(osp.join(lapa_root, 'test', 'landmarks', 'test_000.txt'))[[104, 105, 54, 84, 90]]
    tmpl = template_points((64, 64))
    rows = [[x, -y, 1, 0] for x, y in five] + [[y, x, 0, 1] for x, y in five]
    (a, b, tx, ty), *_ = np.linalg.lstsq(
        np.array(rows, np.float64), np.concatenate([tmpl[:, 0], tmpl[:, 1]]), rcond=None
    )
    np.testing.assert_allclose(meta['warp_matrix'], [[a, -b, tx], [b, a, ty], [0, 0, 1]], atol=1e-6)
    assert np.abs(original_to_warped(five, meta['warp_matrix'], 0.0, (64, 64)) - tmpl).max() < 2.0


def test_lapa_bad_landmark_file_is_a_clear_error(tmp_path):
    p = tmp_path / 'x.txt'
    p.write_text('106\n1 2\n3 4\n')
    with pytest.raises(ValueError, match='header says 106 points'):
        read_lapa_landmarks(str(p))


def test_celebamask_hq_converter_paints_in_order_and_split_follows_partition(celebamask_root):
    import importlib.util

    spec = importlib.util.spec_from_file_location('celebamask_hq_conv', osp.join(TOOLS, 'celebamask_hq.py'))
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    n = conv.convert(celebamask_root, partition=osp.join(celebamask_root, 'list_eval_partition.txt'), size=32)
    assert n == 6
    label = cv2.imread(osp.join(celebamask_root, 'CelebAMask-HQ-label', '0.png'), cv2.IMREAD_UNCHANGED)
    # independent painter: same masks, parts applied in the documented order
    expect = np.zeros((32, 32), np.uint8)
    for part in CELEBAMASK_HQ_PAINT_ORDER:
        path = osp.join(celebamask_root, 'CelebAMask-HQ-mask-anno', '0', f'00000_{part}.png')
        if osp.isfile(path):
            expect[cv2.imread(path)[..., 0] > 0] = CELEBAMASK_HQ_CLASSES.index(part)
    np.testing.assert_array_equal(label, expect)
    cls = CELEBAMASK_HQ_CLASSES.index
    assert label[5, 15] == cls('hair')  # hair over skin
    assert label[12, 10] == cls('eye_g')  # eyeglasses over the eye
    assert label[26, 15] == cls('neck_l')  # necklace over neck
    assert label[21, 15] == cls('u_lip')  # upper lip painted after lower lip
    assert label[29, 15] == cls('cloth')  # cloth painted after neck
    assert label[24, 15] == cls('skin')  # skin painted over the neck
    assert label[30, 15] == cls('cloth') and label[29, 11] == cls('cloth')

    splits = celebamask_hq_split(
        osp.join(celebamask_root, 'CelebA-HQ-to-CelebA-mapping.txt'),
        osp.join(celebamask_root, 'list_eval_partition.txt'),
    )
    assert splits == dict(train=[0, 1, 2], val=[3], test=[4, 5])
    assert open(osp.join(celebamask_root, 'test.txt')).read().split() == ['4', '5']

    init_default_scope('mmseg')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='ResizeImageToLabel'),
        dict(type='FaceAlign', canvas_size=32, source='image'),
        dict(type='RoITanhWarp', warp_factor=0.0, warp_label=False),
        dict(type='PackFaceSegInputs'),
    ]
    ds = DATASETS.build(
        dict(type='CelebAMaskHQDataset', data_root=celebamask_root, split='test', test_mode=True, pipeline=pipeline)
    )
    assert len(ds) == 2 and len(ds.metainfo['classes']) == 19
    out = ds[0]
    assert out['inputs'].shape == (3, 32, 32)  # 64-px image resized to the 32-px labels
    assert out['data_samples'].metainfo['ori_shape'] == (32, 32)
    np.testing.assert_allclose(out['data_samples'].metainfo['warp_matrix'], np.eye(3), atol=1e-12)


def test_fasseg_layouts_and_mismatched_pairs_dropped(fasseg_root):
    init_default_scope('mmseg')
    v2 = DATASETS.build(dict(type='FASSEGDataset', data_root=fasseg_root, version='V2', split='train'))
    assert len(v2) == 4 and v2.metainfo['classes'][2] == 'hair'
    info = v2.get_data_info(0)
    assert (
        osp.join('V1', 'Train_RGB') in info['img_path'] and osp.join('V2', 'Train_LabelIndex') in info['seg_map_path']
    )
    v3 = DATASETS.build(dict(type='FASSEGDataset', data_root=fasseg_root, version='V3', split='test'))
    names = sorted(osp.basename(v3.get_data_info(i)['img_path']) for i in range(len(v3)))
    assert len(v3) == 2 and 'personne15248+0+30.png' not in names  # size mismatch dropped
    with pytest.raises(ValueError, match='V1/V2/V3'):
        DATASETS.build(dict(type='FASSEGDataset', data_root=fasseg_root, version='V4'))


def test_flip_swaps_left_right_labels():
    from mcf_mm.downstream.parsing.transforms import RandomFaceHFlip, RoITanhWarp

    label = np.zeros((8, 8), np.uint8)
    label[2, 1], label[2, 6] = 4, 5  # left eye on the left of the image, right eye on the right
    res = dict(img=np.zeros((8, 8, 3), np.uint8), gt_seg_map=label, warp_matrix=np.eye(3), canvas_shape=(8, 8))
    res = RandomFaceHFlip(prob=1.0, swap_pairs=[(2, 3), (4, 5)])(res)
    res = RoITanhWarp(warp_factor=0.0)(res)
    out = res['gt_seg_map']
    # mirrored geometry AND swapped names: the pixel that is now on the left is labelled "left eye" again
    assert out[2, 1] == 4 and out[2, 6] == 5
    res2 = dict(img=np.zeros((8, 8, 3), np.uint8), gt_seg_map=label.copy(), warp_matrix=np.eye(3), canvas_shape=(8, 8))
    res2 = RoITanhWarp(warp_factor=0.0)(RandomFaceHFlip(prob=1.0, swap_pairs=[])(res2))
    assert res2['gt_seg_map'][2, 1] == 5  # without the swap the classes would be wrong


def test_align_without_landmarks_is_a_clear_error():
    from mcf_mm.downstream.parsing.transforms import FaceAlign

    with pytest.raises(KeyError, match="source='image'"):
        FaceAlign(canvas_size=32)(dict(img=np.zeros((10, 10, 3), np.uint8)))
