"""The one geometry convention of the downstream plugins, against OpenCV and closed-form definitions."""

import math

import cv2
import numpy as np
import pytest

from mcf_mm.downstream.common.geometry import (
    as_3x3,
    crop_matrix,
    crop_to_image,
    estimate_similarity,
    fit_image_matrix,
    hflip_matrix,
    invert_matrix,
    pixels_to_unit,
    similarity_matrix,
    transform_points,
    unit_to_pixels,
)


@pytest.mark.parametrize('angle, scale', [(0.0, 1.0), (17.0, 0.8), (-123.0, 2.5)])
def test_similarity_is_opencv_rotation_matrix(angle, scale):
    centre = (31.5, 12.25)
    ours = similarity_matrix(angle, scale, centre, centre)
    np.testing.assert_allclose(ours[:2], cv2.getRotationMatrix2D(centre, angle, scale), atol=1e-12)
    np.testing.assert_array_equal(ours[2], [0, 0, 1])
    moved = similarity_matrix(angle, scale, centre, (5.0, -7.0))  # centre goes to the target
    np.testing.assert_allclose(transform_points(np.array(centre), moved), [5.0, -7.0], atol=1e-12)


def test_positive_angle_turns_counter_clockwise_on_screen():
    m = similarity_matrix(90.0, 1.0, (0.0, 0.0), (0.0, 0.0))
    # y points down: the +x axis turned counter-clockwise on screen points up (-y)
    np.testing.assert_allclose(transform_points(np.array([1.0, 0.0]), m), [0.0, -1.0], atol=1e-12)


def test_deterministic_crop_maps_box_to_the_crop():
    m = crop_matrix([100, 50, 300, 150], 512, face_scale=1.0)  # longer side 200 fills the crop
    corners = transform_points(np.array([[0.0, 0.0], [200.0, 100.0], [100.0, 50.0], [300.0, 50.0]]), m)
    centre = 511 / 2
    np.testing.assert_allclose(corners[1], [centre, centre])  # box centre -> crop centre
    np.testing.assert_allclose(corners[3] - corners[2], [512, 0])  # width 200 -> 512
    m8 = crop_matrix([100, 50, 300, 150], 512, face_scale=0.8)
    assert np.linalg.norm(m8[:, 0]) == pytest.approx(512 * 0.8 / 200)


def test_crop_matrix_is_the_closed_form_similarity():
    box, s, fs, ang, zoom, shift = [10.0, 20.0, 110.0, 140.0], 64, 0.8, 7.0, 1.05, (0.02, -0.03)
    m = crop_matrix(box, s, face_scale=fs, angle_deg=ang, scale=zoom, shift=shift)
    k = s / (max(box[2] - box[0], box[3] - box[1]) / fs) * zoom
    a = math.radians(ang)
    rot = k * np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    c = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    t = np.array([(s - 1) / 2 + shift[0] * s, (s - 1) / 2 + shift[1] * s])
    p = np.array([[3.0, 4.0], [100.0, -20.0]])
    np.testing.assert_allclose(transform_points(p, m), (p - c) @ rot.T + t, atol=1e-9)
    assert m.shape == (2, 3) and m.flags['C_CONTIGUOUS']


@pytest.mark.parametrize('seed', range(5))
def test_crop_then_inverse_is_identity_within_a_thousandth_px(seed):
    rng = np.random.default_rng(seed)
    x1, y1 = rng.uniform(0, 400, size=2)
    box = [x1, y1, x1 + rng.uniform(20, 300), y1 + rng.uniform(20, 300)]
    m = crop_matrix(
        box,
        512,
        face_scale=0.8,
        angle_deg=rng.uniform(-10, 10),
        scale=rng.uniform(0.9, 1.1),
        shift=tuple(rng.uniform(-0.05, 0.05, size=2)),
    )
    pts = rng.uniform(0, 800, size=(1, 98, 2))
    back = crop_to_image(transform_points(pts, m), m)
    assert np.abs(back - pts).max() < 1e-3


def test_points_move_with_the_warped_image():
    # a one-pixel dot warped by cv2.warpAffine lands where transform_points puts its centre
    img = np.zeros((40, 50), np.float32)
    img[13, 21] = 1.0  # centre (x=21, y=13)
    m = similarity_matrix(30.0, 1.5, (25.0, 20.0), (30.0, 28.0))[:2]
    warped = cv2.warpAffine(img, m, (60, 56), flags=cv2.INTER_LINEAR)
    ys, xs = np.mgrid[0:56, 0:60]
    centroid = np.array([(warped * xs).sum(), (warped * ys).sum()]) / warped.sum()
    np.testing.assert_allclose(centroid, transform_points(np.array([21.0, 13.0]), m), atol=0.05)


def test_inverse_keeps_the_form_and_3x3_promotion():
    m2 = crop_matrix([0, 0, 50, 80], 32, angle_deg=20.0)
    inv2 = invert_matrix(m2)
    assert inv2.shape == (2, 3)
    np.testing.assert_allclose(as_3x3(inv2) @ as_3x3(m2), np.eye(3), atol=1e-12)
    m3 = as_3x3(m2)
    assert invert_matrix(m3).shape == (3, 3)
    with pytest.raises(ValueError, match='2x3 or 3x3'):
        as_3x3(np.eye(2))


def test_hflip_and_fit_image_follow_pixel_edges():
    flip = hflip_matrix(10)
    np.testing.assert_allclose(transform_points(np.array([[0.0, 3.0], [9.0, 4.0]]), flip), [[9, 3], [0, 4]])
    # a 100 x 200 (H x W) image fitted into a 64 x 64 canvas: its left/right pixel edges meet the canvas edges
    m = fit_image_matrix((100, 200), (64, 64))
    edges = transform_points(np.array([[-0.5, 49.5], [199.5, 49.5]]), m)
    np.testing.assert_allclose(edges[:, 0], [-0.5, 63.5])
    np.testing.assert_allclose(edges[:, 1], [31.5, 31.5])  # vertically centred


def test_unit_coordinates_put_pixel_edges_at_0_and_1():
    np.testing.assert_allclose(pixels_to_unit(np.array([[-0.5, -0.5], [63.5, 31.5]]), (64, 32)), [[0, 0], [1, 1]])
    p = np.random.default_rng(0).uniform(-5, 70, size=(10, 2))
    np.testing.assert_allclose(unit_to_pixels(pixels_to_unit(p, (64, 32)), (64, 32)), p, atol=1e-12)


def test_similarity_fit_recovers_a_known_transform():
    rng = np.random.RandomState(1)
    src = rng.uniform(0, 100, size=(5, 2))
    true = similarity_matrix(-33.0, 1.7, (40.0, 25.0), (44.0, 16.0))
    dst = transform_points(src, true)
    np.testing.assert_allclose(estimate_similarity(src, dst), true, atol=1e-9)
    with pytest.raises(ValueError, match='same point'):
        estimate_similarity(np.ones((5, 2)), np.zeros((5, 2)))


def test_bad_box_names_the_problem():
    with pytest.raises(ValueError, match='invalid face box'):
        crop_matrix([5, 5, 5, 9], 64)
