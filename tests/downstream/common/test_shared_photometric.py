"""The shared photometric transforms: each against its closed-form definition on seeded draws, and the same
class in mmpose's and mmseg's registries."""

import numpy as np
import pytest

from mcf_mm.downstream.common.photometric import (
    PHOTOMETRIC_TRANSFORMS,
    FaceRandomBlur,
    FaceRandomGamma,
    FaceRandomGray,
    NoiseBlend,
    RandomBlur,
    RandomGamma,
    RandomGray,
    RandomOcclusion,
)

IMG = np.random.default_rng(0).integers(0, 256, size=(33, 41, 3)).astype(np.uint8)


def _run(transform, seed: int, img: np.ndarray = IMG) -> np.ndarray:
    np.random.seed(seed)
    return transform.transform(dict(img=img.copy()))['img']


def test_occlusion_zeroes_the_drawn_rectangle_only():
    for seed in range(5):
        out = _run(RandomOcclusion(prob=1.0, max_frac=0.5), seed)
        np.random.seed(seed)
        np.random.rand()  # the probability draw
        rh, rw = int(np.random.uniform(0.05, 0.5) * 33), int(np.random.uniform(0.05, 0.5) * 41)
        y, x = np.random.randint(0, 33 - rh + 1), np.random.randint(0, 41 - rw + 1)
        expected = IMG.copy()
        expected[y : y + rh, x : x + rw] = 0
        np.testing.assert_array_equal(out, expected)


def test_noise_blend_is_a_convex_mix():
    out = _run(NoiseBlend(prob=1.0, max_alpha=0.3), 1)
    np.random.seed(1)
    np.random.rand()
    a = np.random.uniform(0, 0.3)
    noise = np.random.uniform(0, 255, size=IMG.shape)
    np.testing.assert_allclose(out, np.floor((1 - a) * IMG + a * noise), atol=1)
    assert out.dtype == np.uint8


def test_gray_float_recipe_truncates_and_uint8_recipe_rounds_like_opencv():
    b, g, r = [IMG[..., i].astype(np.int64) for i in range(3)]
    float_gray = np.floor(0.114 * b + 0.587 * g + 0.299 * r)  # alignment: float32 sum, cast back by truncation
    out = _run(RandomGray(prob=1.0), 0)
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
    assert np.abs(out[..., 0] - float_gray).max() <= 1 and (out[..., 0] == float_gray).mean() > 0.99
    # parsing: OpenCV's 15-bit fixed-point BT.601 (weights summing to 2**15) with rounding
    fixed = (3735 * b + 19235 * g + 9798 * r + (1 << 14)) >> 15
    out = _run(FaceRandomGray(prob=1.0), 0)
    np.testing.assert_array_equal(out, np.repeat(fixed[..., None], 3, axis=2))
    np.testing.assert_array_equal(_run(RandomGray(prob=0.0), 0), IMG)


def test_random_gamma_is_log_uniform_power():
    for seed in range(3):
        out = _run(RandomGamma(prob=1.0, gamma_range=(0.5, 2.0)), seed)
        np.random.seed(seed)
        np.random.rand()
        gamma = np.exp(np.random.uniform(np.log(0.5), np.log(2.0)))
        np.testing.assert_allclose(out, np.floor(255 * (IMG / 255.0) ** gamma), atol=1)


def test_face_gamma_picks_sqrt_identity_or_square():
    seen = set()
    for seed in range(12):
        out = _run(FaceRandomGamma(), seed)
        np.random.seed(seed)
        choice = int(np.random.choice([-1, 0, 1]))
        seen.add(choice)
        curve = {-1: np.sqrt, 0: lambda v: v, 1: np.square}[choice]
        np.testing.assert_array_equal(out, np.round(curve(IMG / 255.0) * 255.0).astype(np.uint8))
    assert seen == {-1, 0, 1}


def test_gaussian_blur_matches_a_gaussian_filter_inside():
    from scipy.ndimage import gaussian_filter

    out = _run(RandomBlur(prob=1.0, max_sigma=2.0), 4).astype(np.float64)
    np.random.seed(4)
    np.random.rand()
    sigma = np.random.uniform(0.1, 2.0)
    ref = gaussian_filter(IMG.astype(np.float64), sigma=(sigma, sigma, 0), truncate=4.0)
    inner = (slice(8, -8), slice(8, -8))
    assert np.abs(out[inner] - np.floor(ref[inner])).max() <= 1.5


def test_face_blur_is_a_box_mean_of_the_drawn_size():
    img = np.random.default_rng(1).integers(0, 256, size=(60, 80, 3)).astype(np.uint8)
    out = _run(FaceRandomBlur(max_ratio=0.1), 2, img).astype(np.float64)
    np.random.seed(2)
    k = int(70 * np.random.uniform(0.0, 0.1))
    assert k > 1
    y, x = 30, 40  # anchor at the kernel centre k // 2, as OpenCV
    window = img[y - k // 2 : y - k // 2 + k, x - k // 2 : x - k // 2 + k].astype(np.float64)
    np.testing.assert_allclose(out[y, x], window.mean(axis=(0, 1)), atol=0.5 + 1e-9)
    np.testing.assert_array_equal(_run(FaceRandomBlur(max_ratio=0.001), 2, img), img)  # k <= 1: unchanged


def test_probability_is_validated():
    with pytest.raises(ValueError, match=r'prob must lie in \[0, 1\]'):
        RandomGray(prob=1.5)


def test_the_same_classes_are_registered_in_both_hosts():
    from mmengine.registry import DefaultScope
    from mmpose.registry import TRANSFORMS as POSE
    from mmseg.registry import TRANSFORMS as SEG

    import mcf_mm.downstream.alignment  # noqa: F401
    import mcf_mm.downstream.parsing  # noqa: F401

    for cls in PHOTOMETRIC_TRANSFORMS:
        assert POSE.get(cls.__name__) is cls and SEG.get(cls.__name__) is cls
        # each host builds in its own scope, whatever default scope an earlier test left behind
        with DefaultScope.overwrite_default_scope('mmseg'):
            assert isinstance(SEG.build(dict(type=cls.__name__)), cls)
        with DefaultScope.overwrite_default_scope('mmpose'):
            assert isinstance(POSE.build(dict(type=cls.__name__)), cls)
