"""Detector box -> training box mapping: the formula, the least-squares fit, the residuals."""

import numpy as np
import pytest

from mcf_mm.detection import BOX_MAPPINGS, BoxMapping, box_mapping_for, fit_box_mapping
from mcf_mm.detection.box_convention import box_iou, mapping_residuals


def _boxes(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x1, y1 = rng.uniform(0, 300, n), rng.uniform(0, 300, n)
    w, h = rng.uniform(40, 200, n), rng.uniform(40, 200, n)
    return np.stack([x1, y1, x1 + w, y1 + h], axis=1)


def test_apply_is_the_documented_formula():
    m = BoxMapping(dx=0.1, dy=-0.2, sx=0.8, sy=1.3)
    x1, y1, x2, y2 = 10.0, 20.0, 110.0, 70.0  # w 100, h 50, centre (60, 45)
    cx, cy, w, h = 60 + 0.1 * 100, 45 - 0.2 * 50, 0.8 * 100, 1.3 * 50
    np.testing.assert_allclose(m.apply([x1, y1, x2, y2]), [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    # batch shape kept; identity leaves boxes alone
    boxes = _boxes(5)
    assert m.apply(boxes).shape == (5, 4)
    np.testing.assert_allclose(BoxMapping().apply(boxes), boxes)


def test_fit_recovers_the_mapping_and_residuals_vanish():
    det = _boxes(50)
    true = BoxMapping(-0.01, 0.12, 0.75, 0.74)
    gt = true.apply(det)
    fit = fit_box_mapping(det, gt)
    np.testing.assert_allclose([fit.dx, fit.dy, fit.sx, fit.sy], [-0.01, 0.12, 0.75, 0.74], atol=1e-12)
    res = mapping_residuals(fit, det, gt)
    assert res['n'] == 50 and res['iou_min'] == pytest.approx(1.0)
    assert max(v for k, v in res.items() if k.startswith(('centre', 'side'))) < 1e-9


def test_fit_is_least_squares_per_axis():
    det = _boxes(30, seed=1)
    gt = BoxMapping(0.05, 0.1, 1.2, 0.9).apply(det) + np.random.default_rng(2).normal(0, 3, (30, 4))
    fit = fit_box_mapping(det, gt)
    w, cx = det[:, 2] - det[:, 0], (det[:, 0] + det[:, 2]) / 2
    wg, cxg = gt[:, 2] - gt[:, 0], (gt[:, 0] + gt[:, 2]) / 2
    # normal equations of cxg - cx = dx * w and wg = sx * w
    assert fit.dx == pytest.approx(np.linalg.lstsq(w[:, None], cxg - cx, rcond=None)[0][0])
    assert fit.sx == pytest.approx(np.linalg.lstsq(w[:, None], wg, rcond=None)[0][0])
    with pytest.raises(ValueError, match='as many'):
        fit_box_mapping(det, gt[:3])


def test_iou_and_lookup():
    np.testing.assert_allclose(box_iou([[0, 0, 10, 10]], [[5, 0, 15, 10]]), [50 / 150])
    assert box_mapping_for('Helen29MatDataset') is BOX_MAPPINGS['mtcnn']['Helen29MatDataset']
    assert box_mapping_for('NoSuchDataset') == BoxMapping()
    assert box_mapping_for('Helen29MatDataset', detector='other') == BoxMapping()
    # the landmark boxes of Helen are smaller than MTCNN's and lower (the box starts at the brows)
    helen = BOX_MAPPINGS['mtcnn']['Helen29MatDataset']
    assert helen.sx < 1 and helen.sy < 1 and helen.dy > 0


def test_a_detection_matches_the_face_whose_box_holds_its_centre():
    from mcf_mm.detection import Face
    from mcf_mm.detection.box_convention import face_in_box

    far = Face(np.array([200.0, 200, 260, 260]), 0.99)
    near = Face(np.array([0.0, 0, 60, 60]), 0.95)  # centre (30, 30)
    assert face_in_box([far, near], [10, 10, 50, 50]) is near
    assert face_in_box([far], [10, 10, 50, 50]) is None


def test_landmark_weights_give_per_face_parameters_and_are_least_squares():
    from mcf_mm.detection.box_convention import MIN_FACES_FOR_LANDMARKS

    rng = np.random.default_rng(3)
    n = 80
    det = _boxes(n, seed=4)
    w, h = det[:, 2] - det[:, 0], det[:, 3] - det[:, 1]
    c = (det[:, :2] + det[:, 2:]) / 2
    rel = rng.uniform(-0.4, 0.4, (n, 5, 2))  # landmarks in the box frame
    lmk = c[:, None] + rel * np.stack([w, h], 1)[:, None]
    # training boxes whose centre follows the nose (point 2) and whose width follows the eye distance
    dx = 0.5 * rel[:, 2, 0]
    sx = 0.6 + (rel[:, 1, 0] - rel[:, 0, 0])
    cx, cy = c[:, 0] + dx * w, c[:, 1] + 0.1 * h
    gt = np.stack([cx - sx * w / 2, cy - 0.4 * h, cx + sx * w / 2, cy + 0.4 * h], 1)
    fit = fit_box_mapping(det, gt, landmarks=lmk)
    assert fit.weights is not None and np.shape(fit.weights) == (11, 4)
    np.testing.assert_allclose(fit.apply(det, lmk), gt, atol=1e-3 * w.max())
    # without landmarks the same object is the box-only mapping
    np.testing.assert_allclose(fit.apply(det), BoxMapping(fit.dx, fit.dy, fit.sx, fit.sy).apply(det))
    # too few faces: no weights
    k = MIN_FACES_FOR_LANDMARKS - 1
    few = fit_box_mapping(det[:k], gt[:k], landmarks=lmk[:k])
    assert few.weights is None
