"""Crop geometry, its exact inverse, the crop transform and the photometric augmentations."""
import numpy as np
import pytest
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from mcf_mm.downstream.alignment.estimator import FaceLandmarkEstimator
from mcf_mm.downstream.alignment.geometry import crop_matrix, crop_to_image, transform_points
from mcf_mm.downstream.alignment.transforms import (FaceBoxCrop, NoiseBlend, RandomBlur, RandomGamma, RandomGray,
                                         RandomOcclusion)


def test_deterministic_crop_maps_box_to_the_crop():
    m = crop_matrix([100, 50, 300, 150], 512, face_scale=1.0)  # longer side 200 fills the crop
    corners = transform_points(np.array([[0., 0.], [200., 100.], [100., 50.], [300., 50.]]), m)
    centre = 511 / 2
    np.testing.assert_allclose(corners[1], [centre, centre])  # box centre -> crop centre
    np.testing.assert_allclose(corners[3] - corners[2], [512, 0])  # width 200 -> 512
    m8 = crop_matrix([100, 50, 300, 150], 512, face_scale=0.8)
    assert np.linalg.norm(m8[:, 0]) == pytest.approx(512 * 0.8 / 200)


@pytest.mark.parametrize('seed', range(5))
def test_crop_then_inverse_is_identity_within_a_thousandth_px(seed):
    rng = np.random.default_rng(seed)
    x1, y1 = rng.uniform(0, 400, size=2)
    box = [x1, y1, x1 + rng.uniform(20, 300), y1 + rng.uniform(20, 300)]
    m = crop_matrix(box, 512, face_scale=0.8, angle_deg=rng.uniform(-10, 10), scale=rng.uniform(0.9, 1.1),
                    shift=tuple(rng.uniform(-0.05, 0.05, size=2)))
    pts = rng.uniform(0, 800, size=(1, 98, 2))
    back = crop_to_image(transform_points(pts, m), m)
    assert np.abs(back - pts).max() < 1e-3


def test_rotation_is_a_similarity_with_the_requested_angle():
    m = crop_matrix([0, 0, 100, 100], 100, angle_deg=10.0)
    v = transform_points(np.array([[60., 50.]]), m) - transform_points(np.array([[50., 50.]]), m)
    assert np.degrees(np.arctan2(-v[0, 1], v[0, 0])) == pytest.approx(10.0)  # counter-clockwise on screen


def test_face_box_crop_moves_image_content_with_the_keypoints():
    yy, xx = np.mgrid[0:200, 0:300]
    blob = 255 * np.exp(-((xx - 170.) ** 2 + (yy - 120.) ** 2) / (2 * 6.0 ** 2))  # bright blob at (170, 120)
    img = np.repeat(blob[..., None], 3, axis=2).astype(np.float32)
    np.random.seed(3)
    res = FaceBoxCrop(input_size=64, face_scale=0.8, rotate=10, shift=0.05, scale=0.1).transform(dict(
        img=img, bbox=np.array([[100., 80., 220., 190.]]), keypoints=np.array([[[170., 120.]]])))
    assert res['img'].shape == (64, 64, 3)
    w = res['img'][..., 0].astype(np.float64)
    gy, gx = np.mgrid[0:64, 0:64]
    centroid = np.array([(w * gx).sum(), (w * gy).sum()]) / w.sum()  # (x, y)
    assert np.abs(centroid - res['transformed_keypoints'][0, 0]).max() < 0.2
    back = crop_to_image(res['transformed_keypoints'], res['crop_matrix'])
    np.testing.assert_allclose(back, [[[170., 120.]]], atol=1e-3)


def test_estimator_maps_crop_predictions_back_to_the_image():
    m = crop_matrix([10, 20, 110, 140], 512, face_scale=0.8, angle_deg=7.0, scale=1.05, shift=(0.02, -0.03))
    pts = np.array([[[30., 40.], [90., 120.]]])
    pred = InstanceData(keypoints=transform_points(pts, m), keypoint_scores=np.ones((1, 2)))
    sample = PoseDataSample(metainfo=dict(crop_matrix=m))
    sample.gt_instances = InstanceData(bboxes=np.array([[10., 20., 110., 140.]]))
    out = FaceLandmarkEstimator.add_pred_to_datasample(None, [pred], None, [sample])[0]
    np.testing.assert_allclose(out.pred_instances.keypoints, pts, atol=1e-3)


def test_photometric_transforms():
    rng = np.random.default_rng(0)
    img = rng.integers(30, 220, size=(32, 32, 3)).astype(np.uint8)
    np.random.seed(0)
    occ = RandomOcclusion(prob=1.0, max_frac=0.5).transform(dict(img=img.copy()))['img']
    assert (occ == 0).all(-1).sum() >= 1 and (occ == img).all(-1).sum() > 0
    gray = RandomGray(prob=1.0).transform(dict(img=img.copy()))['img']
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    dark = RandomGamma(prob=1.0, gamma_range=(2.0, 2.0)).transform(dict(img=img.copy()))['img']
    np.testing.assert_allclose(dark, np.round(255 * (img / 255.) ** 2), atol=1)
    blur = RandomBlur(prob=1.0).transform(dict(img=img.copy()))['img']
    assert blur.std() < img.std()
    noisy = NoiseBlend(prob=1.0, max_alpha=0.3).transform(dict(img=img.copy()))['img']
    assert noisy.dtype == np.uint8 and noisy.shape == img.shape
    same = RandomGray(prob=0.0).transform(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(same, img)


def test_missing_box_names_the_fix():
    with pytest.raises(KeyError, match='bbox'):
        FaceBoxCrop().transform(dict(img=np.zeros((8, 8, 3), np.uint8)))
    with pytest.raises(ValueError, match='invalid face box'):
        crop_matrix([5, 5, 5, 9], 64)
