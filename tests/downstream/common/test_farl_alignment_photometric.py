"""FaRL's alignment photometric augmenters (py-blueprint's laws, written out here), checked by sampled
statistics of the transforms the ViT-B/16 alignment configs build; the CPU configs keep the shared recipe."""

import glob
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mcf_mm.downstream.common.photometric import (
    FaceRandomBlur,
    FaceRandomGamma,
    NoiseBlend,
    RandomOcclusion,
    blueprint_occlusion_box,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
N = 3000


def _law_box(rng: np.random.RandomState, h: int, w: int):
    """The original's occlusion size law: r_h ~ U(0.2, 0.8), r_w = r_h + U(-0.2, 0.2); centre column drawn on
    (h - 1), row on (w - 1); half-extents int(h r_h / 2) // 2 and int(w r_w / 2) // 2, clipped, inclusive."""
    rh = 0.2 + 0.6 * rng.rand()
    rw = rh - 0.2 + 0.4 * rng.rand()
    cx, cy = int((h - 1) * rng.rand()), int((w - 1) * rng.rand())
    dh, dw = int(h / 2 * rh), int(w / 2 * rw)
    x0, y0, x1, y1 = max(0, cx - dw // 2), max(0, cy - dh // 2), min(w - 1, cx + dw // 2), min(h - 1, cy + dh // 2)
    return y1 - y0 + 1, x1 - x0 + 1


def test_blueprint_occlusion_is_always_applied_with_the_original_size_law():
    np.random.seed(0)
    h = w = 96
    t = RandomOcclusion(prob=1.0, law='blueprint')
    sizes = []
    for _ in range(N):
        out = t.transform({'img': np.full((h, w, 3), 7, np.uint8)})['img']
        zero = (out == 0).all(-1)  # [H, W]
        rows, cols = np.flatnonzero(zero.any(1)), np.flatnonzero(zero.any(0))
        assert zero.sum() == rows.size * cols.size  # one filled rectangle, every time
        sizes.append((rows.size, cols.size))
    sizes = np.array(sizes, float)  # [N, 2] rows, cols
    rng = np.random.RandomState(1)
    law = np.array([_law_box(rng, h, w) for _ in range(20 * N)], float)
    for k in range(2):  # mean and quartiles of each side within sampling error
        se = np.sqrt(sizes[:, k].var() / N + law[:, k].var() / law.shape[0])
        assert abs(sizes[:, k].mean() - law[:, k].mean()) < 5 * se
        for q in (25, 50, 75):
            assert abs(np.percentile(sizes[:, k], q) - np.percentile(law[:, k], q)) <= 2
    assert abs(np.corrcoef(sizes.T)[0, 1] - np.corrcoef(law.T)[0, 1]) < 0.06  # r_w follows r_h


def test_blueprint_occlusion_box_follows_the_law_draw_for_draw():
    """The same uniforms (one seed) give the same box as the law written above."""
    for seed in range(200):
        np.random.seed(seed)
        y0, y1, x0, x1 = blueprint_occlusion_box(96, 80)
        assert (y1 - y0 + 1, x1 - x0 + 1) == _law_box(np.random.RandomState(seed), 96, 80)


def test_noise_blend_p_half_alpha_uniform_to_half():
    np.random.seed(0)
    t = NoiseBlend(prob=0.5, max_alpha=0.5)
    alphas = []
    for _ in range(N):
        out = t.transform({'img': np.full((32, 32, 3), 255.0, np.float32)})['img']
        # out = 255 - a (255 - n), n ~ U(0, 255) per pixel: the darkest of 3072 pixels has n ~ 0, so
        # a = (255 - min(out)) / 255 to within a * 1e-3.
        alphas.append((255.0 - out.min()) / 255.0)
    alphas = np.array(alphas)
    applied = alphas > 0
    assert abs(applied.mean() - 0.5) < 4 * np.sqrt(0.25 / N)
    a = np.sort(alphas[applied])
    assert a.max() < 0.5 + 1e-3
    ks = np.abs(a - np.linspace(0, 0.5, a.size, endpoint=False) - 0.25 / a.size).max() / 0.5
    assert ks < 1.63 / np.sqrt(a.size) + 2e-3  # Kolmogorov-Smirnov at 1 % vs U(0, 0.5)


def test_gamma_always_one_of_sqrt_identity_square():
    np.random.seed(0)
    img = np.tile(np.arange(256, dtype=np.uint8)[None, :, None], (2, 1, 3))  # [2, 256, 3] every level
    curves = {g: np.clip(np.round(255 * (np.arange(256) / 255) ** g), 0, 255) for g in (0.5, 1.0, 2.0)}
    counts = dict.fromkeys(curves, 0)
    for _ in range(N):
        out = FaceRandomGamma().transform({'img': img.copy()})['img'][0, :, 0]
        (g,) = [g for g, c in curves.items() if np.array_equal(out, c)]
        counts[g] += 1
    for c in counts.values():
        assert abs(c / N - 1 / 3) < 4 * np.sqrt(2 / 9 / N)


def test_box_blur_size_law_on_the_512_crop():
    np.random.seed(0)
    img = np.random.RandomState(2).randint(0, 256, size=(512, 512, 3)).astype(np.uint8)
    blurred = {k: cv2.blur(img, (k, k)) for k in range(2, 6)}
    n = 800
    counts = dict.fromkeys([1, 2, 3, 4, 5], 0)  # 1 stands for "unchanged" (k = 0 or 1)
    for _ in range(n):
        out = FaceRandomBlur(max_ratio=0.01).transform({'img': img.copy()})['img']
        if np.array_equal(out, img):
            counts[1] += 1
            continue
        (k,) = [k for k, b in blurred.items() if np.array_equal(out, b)]
        counts[k] += 1
    # k = int(512 u), u ~ U(0, 0.01): P(k = j) = 1 / 5.12 for j < 5, P(k = 5) = 0.12 / 5.12.
    expected = {1: 2 / 5.12, 2: 1 / 5.12, 3: 1 / 5.12, 4: 1 / 5.12, 5: 0.12 / 5.12}
    for k, p in expected.items():
        assert abs(counts[k] / n - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-3, (k, counts[k])


@pytest.mark.parametrize('path', sorted(glob.glob(osp.join(REPO, 'configs', 'face_alignment', 'vit-*.py'))))
def test_vit_b_configs_use_farls_augmenters_and_cpu_configs_keep_theirs(path):
    steps = {t['type']: t for t in Config.fromfile(path).train_dataloader.dataset.pipeline}
    if osp.basename(path).startswith('vit-base-p16_'):
        assert steps['RandomOcclusion'] == dict(type='RandomOcclusion', prob=1.0, law='blueprint')
        assert steps['NoiseBlend'] == dict(type='NoiseBlend', prob=0.5, max_alpha=0.5)
        assert steps['RandomGray']['prob'] == 0.1
        assert steps['FaceRandomBlur']['max_ratio'] == 0.01 and 'FaceRandomGamma' in steps
        assert not {'RandomGamma', 'RandomBlur'} & set(steps)
    else:
        assert steps['RandomOcclusion'].get('law', 'uniform') == 'uniform'
        assert {'RandomGamma', 'RandomBlur'} <= set(steps)


def test_unknown_occlusion_law_is_refused():
    with pytest.raises(ValueError, match='blueprint'):
        RandomOcclusion(law='farl')
