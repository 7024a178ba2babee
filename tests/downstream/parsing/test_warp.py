"""RoI tanh warp: exact formula, round trips of coordinates and images, 5-point similarity alignment."""

import numpy as np
import torch

from mcf_mm.downstream.common.geometry import similarity_matrix
from mcf_mm.downstream.parsing.transforms import RandomFaceAffine
from mcf_mm.downstream.parsing.warp import (
    FACE_TEMPLATE_5PTS,
    align_matrix_from_landmarks,
    original_to_warped,
    tanh_compress,
    tanh_expand,
    template_points,
    unwarp_logits,
    warp_image,
    warped_to_original,
)

CANVAS = (64, 64)


def _face_matrix() -> np.ndarray:
    # A face of ~70 px eye distance, rotated by 12 degrees, in a 160 x 200 (H x W) photo.
    pts = template_points((128, 128)) * 0.9
    rot = similarity_matrix(12.0, 1.0, (63.5, 63.5), (93.5, 73.5))
    pts = pts @ rot[:2, :2].T + rot[:2, 2]
    return align_matrix_from_landmarks(pts, CANVAS)


def test_tanh_compress_matches_the_separable_formula():
    n = np.linspace(-1.5, 1.5, 301)
    expected = np.where(np.abs(n) <= 0.2, n, np.sign(n) * (np.tanh((np.abs(n) - 0.2) / 0.8) * 0.8 + 0.2))
    np.testing.assert_allclose(tanh_compress(n, 0.8), expected, atol=1e-12)
    # separable: the x output depends on x only (a polar warp would mix the axes)
    pts = np.array([[0.5, 0.0], [0.5, 0.9]])
    out = tanh_compress(pts, 0.8)
    assert out[0, 0] == out[1, 0]
    assert np.all(np.abs(tanh_compress(n * 10, 0.8)) < 1.0)  # everything lands inside the canvas
    np.testing.assert_array_equal(tanh_compress(n, 0.0), n)
    inner = np.linspace(-0.99, 0.99, 199)
    np.testing.assert_allclose(tanh_expand(tanh_compress(inner, 0.8), 0.8), inner, atol=1e-9)


def test_coordinates_round_trip_within_1e3():
    m = _face_matrix()
    rng = np.random.RandomState(0)
    # warped -> original -> warped, over the whole canvas except the outermost ring (atanh clip)
    u = rng.uniform(0.5, CANVAS[1] - 1.5, size=(2000, 2))
    back = original_to_warped(warped_to_original(u, m, 0.8, CANVAS), m, 0.8, CANVAS)
    assert np.abs(back - u).max() < 1e-3
    # original -> warped -> original for points of the photo near the face
    x = rng.uniform([20, 20], [180, 140], size=(2000, 2))
    w = original_to_warped(x, m, 0.8, CANVAS)
    np.testing.assert_array_less(np.abs(w - (CANVAS[1] - 1) / 2), CANVAS[1] / 2)
    assert np.abs(warped_to_original(w, m, 0.8, CANVAS) - x).max() < 1e-3
    # the warp is not a no-op: far points are compressed
    assert np.abs(w - original_to_warped(x, m, 0.0, CANVAS)).max() > 1.0


def test_landmarks_align_onto_the_template():
    pts = template_points((512, 512)) * 0.3 + 17.0
    m = align_matrix_from_landmarks(pts, (512, 512))
    np.testing.assert_allclose(original_to_warped(pts, m, 0.0, (512, 512)), template_points((512, 512)), atol=1e-6)
    np.testing.assert_allclose(template_points((512, 512))[0], (FACE_TEMPLATE_5PTS[0] + 1) * 511 / 2)


def test_random_face_affine_turns_clockwise_by_the_draw_about_the_canvas_centre():
    canvas, start = (40, 56), np.diag([0.5, 0.5, 1.0])
    np.random.seed(3)
    out = RandomFaceAffine(rotate_std=18.0, scale_std=0.1, shift=0.01).transform(
        dict(warp_matrix=start, canvas_shape=canvas)
    )['warp_matrix']
    np.random.seed(3)
    t = np.deg2rad(np.random.normal(0.0, 18.0))
    k = np.random.normal(1.0, 0.1)
    sx, sy = np.random.uniform(-0.01, 0.01, size=2) * 40
    cx, cy = 27.5, 19.5  # canvas centre (x, y)
    c, s = k * np.cos(t), k * np.sin(t)  # rotation [[c, -s], [s, c]]: clockwise on screen for t > 0
    aug = np.array([[c, -s, cx - c * cx + s * cy + sx], [s, c, cy - s * cx - c * cy + sy], [0, 0, 1]])
    np.testing.assert_allclose(out, aug @ start, rtol=0, atol=1e-12)


def test_image_round_trip_within_interpolation_error():
    # smooth image: warp onto the canvas, then put it back with the segmentor's logits un-warp
    h, w = 160, 200
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([np.sin(xx / 17.0), np.cos(yy / 13.0), np.sin((xx + yy) / 23.0)], -1).astype(np.float32)
    m = _face_matrix()
    canvas = (128, 128)
    m = np.diag([2.0, 2.0, 1.0]) @ m  # same face on a 128 canvas
    warped = warp_image(img, m, 0.8, canvas, 'bilinear')
    assert warped.shape == (128, 128, 3)
    back = unwarp_logits(torch.from_numpy(warped).permute(2, 0, 1), m, 0.8, (h, w)).permute(1, 2, 0).numpy()
    assert back.shape == (h, w, 3)
    # compare where the canvas samples the photo densely (inner, linear part of the warp)
    n = (original_to_warped(np.stack([xx, yy], -1), m, 0.8, canvas) + 0.5) / 128 * 2 - 1
    inner = np.all(np.abs(n) < 0.6, axis=-1)
    assert inner.sum() > 2000
    err = np.abs(back - img)[inner]
    assert err.mean() < 0.01 and err.max() < 0.08
    # a wrong inverse (no tanh) is far off: the test can tell
    wrong = unwarp_logits(torch.from_numpy(warped).permute(2, 0, 1), m, 0.0, (h, w)).permute(1, 2, 0).numpy()
    assert np.abs(wrong - img)[inner].mean() > 5 * err.mean()


def test_label_warp_is_nearest_and_outside_pixels_get_zero_logits():
    label = np.random.RandomState(2).randint(1, 5, size=(40, 50)).astype(np.uint8)
    m = np.diag([0.5, 0.5, 1.0])  # 50 x 40 photo onto the top-left of a 64 canvas
    warped = warp_image(label, m, 0.0, CANVAS, 'nearest', border_value=0)
    assert set(np.unique(warped)) <= {0, 1, 2, 3, 4}
    assert warped[-1, -1] == 0 and warped[0, 0] == label[0, 0]
    logits = torch.ones(3, 8, 8)
    out = unwarp_logits(logits, np.diag([0.1, 0.1, 1.0]), 0.0, (200, 200))  # photo 20x bigger than canvas
    assert out.shape == (3, 200, 200)
    assert torch.all(out[:, -1, -1] == 0) and torch.allclose(out[:, 10, 10], torch.ones(3))
