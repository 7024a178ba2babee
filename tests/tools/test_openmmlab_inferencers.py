"""OpenMMLab's inferencers on mcf_mm configs: MMPoseInferencer / FaceLandmarkInferencer and MMSegInferencer give
the predictions of mcf_mm's own API (mcf_mm.apis) on the same image and box, with tiny models."""

import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch

from mcf_fixtures.alignment import TINY_ARCH
from mcf_mm.apis.alignment import detect_landmarks, init_landmark_model
from mcf_mm.apis.parsing import init_face_parser, parse_face
from mcf_mm.downstream.common.geometry import crop_matrix, transform_points

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ALIGN_CFG = osp.join(REPO, 'configs', 'face_alignment', 'vit-demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py')
PARSE_DIR = osp.join(REPO, 'configs', 'face_parsing')
ARCH = dict(TINY_ARCH, num_layers=4)  # one block per pyramid level
BOX = [30.0, 20.0, 90.0, 80.0]


@pytest.fixture(scope='module')
def landmark_model(tmp_path_factory):
    """A tiny config file (the Helen-29 CPU config, 32-d ViT), its random checkpoint and a 120x90 photo."""
    folder = tmp_path_factory.mktemp('pose')
    cfg = folder / 'tiny_align.py'
    cfg.write_text(
        f'_base_ = [{ALIGN_CFG!r}]\nmodel = dict(backbone=dict(arch={ARCH!r}),'
        ' neck=dict(embed_dim=32), head=dict(in_channels=32, channels=16))\n'
    )
    torch.manual_seed(0)
    model = init_landmark_model(str(cfg))
    ckpt = str(folder / 'tiny.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    image = str(folder / 'face.jpg')
    cv2.imwrite(image, np.random.default_rng(0).integers(0, 255, size=(90, 120, 3)).astype(np.uint8))
    return str(cfg), ckpt, image


def _points(pred: dict) -> np.ndarray:
    return np.asarray(pred['keypoints'], np.float64)  # [K, 2]


def test_mmpose_inferencer_builds_and_matches_the_whole_image_api(landmark_model):
    from mmpose.apis import MMPoseInferencer

    cfg, ckpt, image = landmark_model
    ref = detect_landmarks(init_landmark_model(cfg, ckpt), image, box=None)
    inferencer = MMPoseInferencer(pose2d=cfg, pose2d_weights=ckpt, device='cpu')
    assert inferencer.inferencer.detector is None  # no mmdet face detector is looked up for these configs
    pred = next(inferencer(image))['predictions'][0]
    assert len(pred) == 1
    np.testing.assert_allclose(pred[0]['bbox'][0], [0, 0, 120, 90])
    np.testing.assert_allclose(_points(pred[0]), ref['keypoints'], atol=1e-4)
    np.testing.assert_allclose(pred[0]['keypoint_scores'], ref['scores'], atol=1e-5)


def test_face_landmark_inferencer_honours_each_box(landmark_model):
    from mcf_mm.downstream.alignment.inferencer import FaceLandmarkInferencer

    cfg, ckpt, image = landmark_model
    model = init_landmark_model(cfg, ckpt)
    box2 = [5.0, 10.0, 55.0, 70.0]
    inferencer = FaceLandmarkInferencer(cfg, ckpt, device='cpu')
    preds = next(inferencer(image, bboxes=[[BOX, box2 + [0.7]]]))['predictions'][0]
    assert len(preds) == 2  # one instance per box, in order
    for pred, box in zip(preds, (BOX, box2)):
        ref = detect_landmarks(model, image, box=box)
        np.testing.assert_allclose(pred['bbox'][0], box)
        np.testing.assert_allclose(_points(pred), ref['keypoints'], atol=1e-4)
        # the box was used: the points map into that box's crop (64 px, face scale 0.7), not the whole image's
        crop_pts = transform_points(_points(pred), crop_matrix(box, 64, face_scale=0.7))
        assert (crop_pts >= -0.5).all() and (crop_pts <= 63.5).all()
    np.testing.assert_allclose(preds[1]['bbox_score'], 0.7)
    whole = detect_landmarks(model, image, box=None)
    assert np.abs(_points(preds[0]) - np.asarray(whole['keypoints'])).max() > 1.0
    # array input (BGR) gives the same answer as the path
    arr_pred = next(inferencer(cv2.imread(image), bboxes=[[BOX]]))['predictions'][0][0]
    np.testing.assert_allclose(_points(arr_pred), _points(preds[0]), atol=1e-4)


def test_face_landmark_inferencer_rejects_bad_boxes(landmark_model):
    from mcf_mm.downstream.alignment.inferencer import FaceLandmarkInferencer

    cfg, ckpt, image = landmark_model
    inferencer = FaceLandmarkInferencer(cfg, ckpt, device='cpu')
    with pytest.raises(ValueError, match='is empty'):
        next(inferencer(image, bboxes=[[[50, 20, 40, 80]]]))
    with pytest.raises(ValueError, match=r'\[N, 4\] or \[N, 5\]'):
        next(inferencer(image, bboxes=[[[1, 2, 3]]]))


def test_every_landmark_is_drawn_whatever_its_score(landmark_model, tmp_path):
    from mcf_mm.downstream.alignment.inferencer import FaceLandmarkInferencer

    cfg, ckpt, _ = landmark_model
    grey = np.full((90, 120, 3), 128, np.uint8)  # points are drawn red (255, 0, 0) on a grey image
    inferencer = FaceLandmarkInferencer(cfg, ckpt, device='cpu')
    res = next(inferencer(grey, bboxes=[[BOX]], return_vis=True, vis_out_dir=str(tmp_path / 'vis')))
    vis = res['visualization'][0]  # RGB
    pred = res['predictions'][0][0]
    assert osp.isfile(tmp_path / 'vis' / '000000.jpg')

    def red_at(img, pts):
        return [
            bool(img[int(round(y)), int(round(x)), 0] > 200 and img[int(round(y)), int(round(x)), 1] < 80)
            for x, y in pts
        ]

    assert all(red_at(vis, _points(pred)))
    assert max(pred['keypoint_scores']) < 1.0
    hidden = next(inferencer(grey, bboxes=[[BOX]], return_vis=True, kpt_thr=1.0))['visualization'][0]
    assert not any(red_at(hidden, _points(pred)))  # the threshold is mmpose's: scores below it are skipped


def _tiny_parse_config(tmp_path, name: str) -> str:
    path = tmp_path / f'tiny_{name}'
    path.write_text(
        f'_base_ = [{osp.join(PARSE_DIR, name)!r}]\n'
        'model = dict(backbone=dict(arch=dict(_delete_=True, embed_dims=32, num_layers=4, num_heads=2,\n'
        '                                     feedforward_channels=64), out_indices=(0, 1, 2, 3)),\n'
        "             neck=dict(embed_dim=32, norm_cfg=dict(type='BN')),\n"
        "             decode_head=dict(in_channels=[32] * 4, channels=16, norm_cfg=dict(type='BN')))\n"
    )
    return str(path)


def _parse_checkpoint(cfg: str, tmp_path) -> str:
    model = init_face_parser(cfg)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    path = str(tmp_path / 'tiny_parse.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=model.dataset_meta)), path)
    return path


def test_mmseg_inferencer_matches_parse_face(tmp_path):
    from mmseg.apis import MMSegInferencer

    cfg = _tiny_parse_config(tmp_path, 'vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py')
    ckpt = _parse_checkpoint(cfg, tmp_path)
    image = str(tmp_path / 'face.png')
    cv2.imwrite(image, np.random.default_rng(1).integers(0, 255, size=(90, 120, 3)).astype(np.uint8))
    ref = parse_face(init_face_parser(cfg, ckpt), image)
    inferencer = MMSegInferencer(model=cfg, weights=ckpt, device='cpu')
    out = inferencer(image, return_datasamples=True)
    assert out.pred_sem_seg.shape == (90, 120)
    torch.testing.assert_close(out.seg_logits.data, ref.seg_logits.data)
    torch.testing.assert_close(out.pred_sem_seg.data, ref.pred_sem_seg.data)
    assert inferencer.model.dataset_meta['classes'] == init_face_parser(cfg, ckpt).dataset_meta['classes']


def test_mmseg_inferencer_takes_landmarks_in_a_dict_for_aligned_configs(tmp_path):
    """LaPa aligns the face by 5 of its 106 points: MMSegInferencer passes a dict input through its loader."""
    from mmseg.apis import MMSegInferencer

    sys.path.insert(0, osp.join(REPO, 'tests'))
    from downstream.parsing.conftest import draw_face

    cfg = _tiny_parse_config(tmp_path, 'vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_lapa-512px.py')
    ckpt = _parse_checkpoint(cfg, tmp_path)
    img, _, five = draw_face(64, 72, np.random.RandomState(3))
    lmk = np.zeros((106, 2), np.float32)
    lmk[[104, 105, 54, 84, 90]] = five
    ref = parse_face(init_face_parser(cfg, ckpt), img, landmarks=five)  # mcf_mm's API with the 5 points
    out = MMSegInferencer(model=cfg, weights=ckpt, device='cpu')(
        dict(img=img, face_landmarks=lmk), return_datasamples=True
    )
    torch.testing.assert_close(out.seg_logits.data, ref.seg_logits.data)
