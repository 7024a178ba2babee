"""Writers of tiny annotation files in each dataset's ORIGINAL format, plus small images (alignment tests)."""

import os
import os.path as osp
from typing import Dict, List

import cv2
import numpy as np
from scipy.io import savemat

from .tiny import TINY_ARCH


def _write_image(path: str, w: int = 48, h: int = 40, seed: int = 0) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.random.default_rng(seed).integers(0, 255, size=(h, w, 3)).astype(np.uint8)
    cv2.imwrite(path, img)


def _points(k: int, rng, w: int = 48, h: int = 40) -> np.ndarray:
    return np.stack([rng.uniform(10, w - 10, k), rng.uniform(8, h - 8, k)], axis=1)  # [K, 2]


def write_aflw(root: str, n: int = 6) -> Dict[str, np.ndarray]:
    """AFLWinfo_release.mat (bbox x1 x2 y1 y2, data x1..x19 y1..y19, mask_new, nameList cell, ra 1-based)."""
    rng = np.random.default_rng(0)
    names = np.empty((n, 1), dtype=object)
    pts = np.stack([_points(19, rng) for _ in range(n)])  # [n, 19, 2]
    for i in range(n):
        names[i, 0] = f'{i % 3}/image{i:05d}.jpg'
        _write_image(osp.join(root, 'data', 'flickr', names[i, 0]), seed=i)
    mask = np.ones((n, 19))
    mask[[1, 4], 3] = 0  # faces 1 and 4 are not frontal
    bbox = np.array([[4 + i, 44 - i, 2 + i, 38 - i] for i in range(n)], dtype=float)
    ra = np.array([[3, 1, 6, 2, 5, 4]])[:, :n]
    savemat(
        osp.join(root, 'AFLWinfo_release.mat'),
        dict(bbox=bbox, data=np.concatenate([pts[..., 0], pts[..., 1]], axis=1), mask_new=mask, nameList=names, ra=ra),
    )
    return dict(pts=pts, bbox=bbox, mask=mask, ra=ra[0] - 1, names=names[:, 0])


def write_hrnet_csv(path: str, rows: List[tuple]) -> None:
    k = len(rows[0][4])
    header = ['image_name', 'scale', 'center_w', 'center_h'] + [f'original_{i}_{a}' for i in range(k) for a in 'xy']
    with open(path, 'w') as f:
        f.write(','.join(header) + '\n')
        for name, s, cx, cy, pts in rows:
            f.write(','.join([name, f'{s}', f'{cx}', f'{cy}'] + [f'{v:.3f}' for v in pts.ravel()]) + '\n')


def hrnet_rows(root: str, k: int, n: int, seed: int) -> List[tuple]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        name = f'set{seed}/img_{i}.png'
        _write_image(osp.join(root, 'images', name), seed=seed * 10 + i)
        rows.append((name, 0.15 + 0.01 * i, 24.0 + i, 20.0 - i, np.round(_points(k, rng), 3)))
    return rows


def write_helen(root: str, n: int = 6) -> Dict[str, list]:
    """helen.mat with imgs (cell of names) and Pts (cell of 2x29) as in the EGM release."""
    rng = np.random.default_rng(2)
    names = ['200_1.jpg', '100_2.jpg', '100_1.jpg', '300_1.jpg', '150_1.jpg', '300_2.jpg'][:n]
    imgs = np.empty((1, n), dtype=object)
    pts = np.empty((1, n), dtype=object)
    raw = []
    for i, name in enumerate(names):
        imgs[0, i] = name
        p = _points(29, rng)
        raw.append(p)
        pts[0, i] = p.T  # 2 x 29
        _write_image(osp.join(root, 'data', 'img', name), seed=100 + i)
    savemat(osp.join(root, 'data', 'helen.mat'), dict(imgs=imgs, Pts=pts))
    return dict(names=names, pts=raw)


WFLW_ATTRIBUTES = ('largepose', 'expression', 'illumination', 'makeup', 'occlusion', 'blur')


def tiny_helen_cfg(data_root: str, work_dir: str) -> dict:
    """A complete mmpose runner config: a 4-block 32-d ViT with the protocol's neck and head on 32-px crops of the
    Helen-29 fixture (:func:`write_helen`), one epoch of batch 2 on the CPU."""
    codec = dict(type='FaRLHeatmapCodec', input_size=32, heatmap_size=32, sigma=1.25, radius=5.0)
    meta_keys = (
        'id',
        'img_id',
        'img_path',
        'ori_shape',
        'img_shape',
        'input_size',
        'input_center',
        'input_scale',
        'crop_matrix',
        'subsets',
        'dataset_name',
    )
    pipeline = [
        dict(type='LoadImage'),
        dict(type='FaceBoxCrop', input_size=32, face_scale=0.7),
        dict(type='GenerateTarget', encoder=codec),
        dict(type='PackPoseInputs', meta_keys=meta_keys),
    ]
    data = dict(
        type='Helen29MatDataset',
        data_root=data_root,
        ann_file='data/helen.mat',
        data_prefix=dict(img='data/img/'),
        test_ratio=1 / 3,
        pipeline=pipeline,
    )
    loader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False))
    evaluator = dict(type='FaceAlignmentMetric', normalizers=dict(inter_ocular=(8, 9)))
    return dict(
        default_scope='mmpose',
        work_dir=work_dir,
        launcher='none',
        custom_imports=dict(imports=['mcf_mm.downstream.alignment'], allow_failed_imports=False),
        model=dict(
            type='FaceLandmarkEstimator',
            data_preprocessor=dict(type='PoseDataPreprocessor', mean=[128.0] * 3, std=[64.0] * 3),
            backbone=dict(
                _scope_='mcf_mm',
                type='FaceViT',
                arch=dict(TINY_ARCH, num_layers=4),
                img_size=32,
                patch_size=8,
                out_indices=(0, 1, 2, 3),
                out_type='featmap',
                final_norm=False,
            ),
            neck=dict(type='mmseg.Feature2Pyramid', embed_dim=32, rescales=(4, 2, 1, 0.5), norm_cfg=dict(type='BN')),
            head=dict(
                type='UPerHeatmapHead',
                in_channels=32,
                num_keypoints=29,
                channels=16,
                pool_scales=(1, 2),
                norm_cfg=dict(type='BN'),
                decoder=codec,
            ),
            test_cfg=dict(flip_test=False),
        ),
        train_dataloader=dict(loader, dataset=dict(data, split='train')),
        val_dataloader=dict(loader, dataset=dict(data, split='test', test_mode=True)),
        test_dataloader=dict(loader, dataset=dict(data, split='test', test_mode=True)),
        val_evaluator=evaluator,
        test_evaluator=evaluator,
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1),
        val_cfg=dict(),
        test_cfg=dict(),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
    )
