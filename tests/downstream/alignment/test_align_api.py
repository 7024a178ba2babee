"""Three-line inference API and tools/infer_landmarks.py: JSON + PNG, points in original-image pixels."""

import json
import os.path as osp
import runpy
import sys

import cv2
import numpy as np
import pytest
import torch

from mcf_fixtures.alignment import TINY_ARCH
from mcf_mm.apis.alignment import detect_landmarks, init_landmark_model, save_landmarks
from mcf_mm.downstream.common.geometry import crop_matrix, transform_points

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG = osp.join(REPO, 'configs', 'face_alignment', 'vit-demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py')
ARCH = dict(TINY_ARCH, num_layers=4)  # one block per pyramid level
TINY = {
    'model.backbone.arch': ARCH,
    'model.neck.embed_dim': 32,
    'model.head.in_channels': 32,
    'model.head.channels': 16,
}


@pytest.fixture(scope='module')
def model_and_ckpt(tmp_path_factory):
    folder = tmp_path_factory.mktemp('api')
    torch.manual_seed(0)
    model = init_landmark_model(CFG, None, cfg_options=TINY)
    ckpt = str(folder / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    img = np.random.default_rng(0).integers(0, 255, size=(90, 120, 3)).astype(np.uint8)
    path = str(folder / 'face.jpg')
    cv2.imwrite(path, img)
    return ckpt, path, folder


def test_three_line_api_writes_json_and_png(model_and_ckpt):
    ckpt, image, folder = model_and_ckpt
    model = init_landmark_model(CFG, ckpt, cfg_options=TINY)
    box = [30.0, 20.0, 90.0, 80.0]
    result = detect_landmarks(model, image, box=box)
    save_landmarks(result, image, str(folder / 'out.json'), str(folder / 'out.png'))
    saved = json.load(open(folder / 'out.json'))
    pts = np.array(saved['keypoints'])
    assert pts.shape == (29, 2) and len(saved['scores']) == 29
    np.testing.assert_allclose(saved['box'], box)
    # soft-argmax stays inside the heatmap, so the points mapped back lie inside the crop's footprint
    crop_pts = transform_points(pts, crop_matrix(box, 64, face_scale=0.7))
    assert (crop_pts >= -0.5).all() and (crop_pts <= 63.5).all()
    png = cv2.imread(str(folder / 'out.png'))
    assert png.shape == (90, 120, 3)
    # the loaded weights are the checkpoint's
    ref = torch.load(ckpt, weights_only=True)['state_dict']
    assert all(torch.equal(v, ref[k]) for k, v in model.state_dict().items())


def test_whole_image_is_the_default_box(model_and_ckpt):
    ckpt, image, _ = model_and_ckpt
    model = init_landmark_model(CFG, ckpt, cfg_options=TINY)
    result = detect_landmarks(model, image)
    np.testing.assert_allclose(result['box'], [0, 0, 120, 90])


def test_tool_writes_outputs(model_and_ckpt, tmp_path, monkeypatch):
    ckpt, image, _ = model_and_ckpt
    # the tool takes no cfg options: give it a config file with the tiny settings
    tiny_cfg = tmp_path / 'tiny.py'
    tiny_cfg.write_text(
        f'_base_ = [{CFG!r}]\nmodel = dict(backbone=dict(arch={ARCH!r}),'
        ' neck=dict(embed_dim=32), head=dict(in_channels=32, channels=16))\n'
    )
    monkeypatch.setattr(
        sys,
        'argv',
        [
            'infer_landmarks.py',
            str(tiny_cfg),
            ckpt,
            image,
            '--out-dir',
            str(tmp_path / 'out'),
            '--box',
            '30',
            '20',
            '90',
            '80',
        ],
    )
    runpy.run_path(osp.join(REPO, 'tools', 'infer_landmarks.py'), run_name='__main__')
    assert len(json.load(open(tmp_path / 'out' / 'face.json'))['keypoints']) == 29
    assert cv2.imread(str(tmp_path / 'out' / 'face.png')).shape == (90, 120, 3)


def test_missing_files_raise_clear_errors(model_and_ckpt):
    ckpt, _, _ = model_and_ckpt
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        init_landmark_model(CFG, '/nonexistent.pth')
    model = init_landmark_model(CFG, ckpt, cfg_options=TINY)
    with pytest.raises(FileNotFoundError, match='image not found'):
        detect_landmarks(model, '/nonexistent.jpg')
