"""The face box crop transform and the estimator's exact inverse of the crop (the geometry itself and the
photometric augmentations are tested in tests/downstream/common)."""

import numpy as np
import pytest
from mmengine.structures import InstanceData
from mmpose.structures import PoseDataSample

from mcf_mm.downstream.alignment.estimator import FaceLandmarkEstimator
from mcf_mm.downstream.alignment.transforms import FaceBoxCrop
from mcf_mm.downstream.common.geometry import crop_matrix, crop_to_image, transform_points


def test_face_box_crop_moves_image_content_with_the_keypoints():
    yy, xx = np.mgrid[0:200, 0:300]
    blob = 255 * np.exp(-((xx - 170.0) ** 2 + (yy - 120.0) ** 2) / (2 * 6.0**2))  # bright blob at (170, 120)
    img = np.repeat(blob[..., None], 3, axis=2).astype(np.float32)
    np.random.seed(3)
    res = FaceBoxCrop(input_size=64, face_scale=0.8, rotate=10, shift=0.05, scale=0.1).transform(
        dict(img=img, bbox=np.array([[100.0, 80.0, 220.0, 190.0]]), keypoints=np.array([[[170.0, 120.0]]]))
    )
    assert res['img'].shape == (64, 64, 3)
    w = res['img'][..., 0].astype(np.float64)
    gy, gx = np.mgrid[0:64, 0:64]
    centroid = np.array([(w * gx).sum(), (w * gy).sum()]) / w.sum()  # (x, y)
    assert np.abs(centroid - res['transformed_keypoints'][0, 0]).max() < 0.2
    back = crop_to_image(res['transformed_keypoints'], res['crop_matrix'])
    np.testing.assert_allclose(back, [[[170.0, 120.0]]], atol=1e-3)


def test_estimator_maps_crop_predictions_back_to_the_image():
    m = crop_matrix([10, 20, 110, 140], 512, face_scale=0.8, angle_deg=7.0, scale=1.05, shift=(0.02, -0.03))
    pts = np.array([[[30.0, 40.0], [90.0, 120.0]]])
    pred = InstanceData(keypoints=transform_points(pts, m), keypoint_scores=np.ones((1, 2)))
    sample = PoseDataSample(metainfo=dict(crop_matrix=m))
    sample.gt_instances = InstanceData(bboxes=np.array([[10.0, 20.0, 110.0, 140.0]]))
    out = FaceLandmarkEstimator.add_pred_to_datasample(None, [pred], None, [sample])[0]
    np.testing.assert_allclose(out.pred_instances.keypoints, pts, atol=1e-3)


def test_missing_box_names_the_fix():
    with pytest.raises(KeyError, match='bbox'):
        FaceBoxCrop().transform(dict(img=np.zeros((8, 8, 3), np.uint8)))
