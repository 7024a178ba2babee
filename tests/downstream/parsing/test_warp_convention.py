"""RoI tanh warp in FaRL's pixel convention (``convention='farl'``) against an independent implementation of the
formula of FaRL's training code (py-blueprint's tanh-warp maps: n = u / W * 2 - 1, back u = (n + 1) / 2 * W,
arctanh argument clipped at +-0.999), written here in float64 from that definition.

Tolerances: warp maps <= 1e-3 px; label maps (nearest) identical; un-warped logits <= 1e-4.
A real CelebAMask-HQ sample is used when ``$MCF_MM_DATA/celebamask_hq_samples`` exists, else a synthetic face.
"""

import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mcf_mm.downstream.common.geometry import similarity_matrix
from mcf_mm.downstream.parsing.transforms import RoITanhWarp
from mcf_mm.downstream.parsing.warp import unwarp_logits, warp_image, warped_to_original

F = 0.8  # LaPa's warp factor
CANVAS = (512, 512)


def _sample():
    """(image [512, 512, 3] uint8, label [512, 512] uint8): a real CelebAMask-HQ pair if available."""
    root = osp.join(os.environ.get('MCF_MM_DATA', 'data'), 'celebamask_hq_samples', 'MaskGAN_demo', 'samples')
    if osp.isfile(osp.join(root, '0.jpg')):
        img = cv2.resize(cv2.imread(osp.join(root, '0.jpg')), (512, 512), interpolation=cv2.INTER_LINEAR)
        return img, cv2.imread(osp.join(root, '0.png'), cv2.IMREAD_GRAYSCALE)
    yy, xx = np.mgrid[:512, :512]
    label = ((np.hypot(xx - 256, yy - 270) < 180) + (np.hypot(xx - 256, yy - 270) < 60) * 2).astype(np.uint8)
    img = np.stack([label * 70 + (xx % 13), yy % 255, xx % 255], -1).astype(np.uint8)
    return img, label


def _matrix() -> np.ndarray:
    """A LaPa-like alignment: the face zoomed 1.3x, rotated 8 degrees and shifted on the 512 canvas."""
    return similarity_matrix(8.0, 1.3, (256.0, 270.0), (250.0, 262.0))


def _ref_atanh(x):
    return np.arctanh(np.clip(x, -0.999, 0.999))


def _ref_warp_map(matrix, f, shape):
    """FaRL: for every warped-canvas pixel (x, y) the original-image position it samples; [H, W, 2]."""
    h, w = shape
    yy, xx = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing='ij')
    c = np.stack([xx, yy], -1).reshape(-1, 2) / np.array([w, h]) * 2 - 1
    hi, lo = c > 1 - f, c < -1 + f
    c[hi] = _ref_atanh((c[hi] - 1 + f) / f) * f + 1 - f
    c[lo] = _ref_atanh((c[lo] + 1 - f) / f) * f - 1 + f
    c = (c + 1) / 2 * np.array([w, h])
    homo = np.concatenate([c, np.ones((len(c), 1))], 1) @ np.linalg.inv(matrix).T
    return (homo[:, :2] / homo[:, 2:]).reshape(h, w, 2)


def _ref_inverse_map(matrix, f, warped_shape, orig_shape):
    """FaRL: for every original pixel its position on the warped canvas; [H, W, 2]."""
    h, w = warped_shape
    oh, ow = orig_shape
    yy, xx = np.meshgrid(np.arange(oh, dtype=np.float64), np.arange(ow, dtype=np.float64), indexing='ij')
    homo = np.concatenate([np.stack([xx, yy], -1).reshape(-1, 2), np.ones((oh * ow, 1))], 1) @ matrix.T
    c = homo[:, :2] / homo[:, 2:] / np.array([w, h]) * 2 - 1
    hi, lo = c > 1 - f, c < -1 + f
    c[hi] = np.tanh((c[hi] - 1 + f) / f) * f + 1 - f
    c[lo] = np.tanh((c[lo] + 1 - f) / f) * f - 1 + f
    return ((c + 1) / 2 * np.array([w, h])).reshape(oh, ow, 2)


def _grid(shape):
    yy, xx = np.meshgrid(np.arange(shape[0], dtype=np.float64), np.arange(shape[1], dtype=np.float64), indexing='ij')
    return np.stack([xx, yy], -1)


def _remap(img, xy, inter):
    return cv2.remap(
        img, xy[..., 0].astype(np.float32), xy[..., 1].astype(np.float32), inter, borderMode=cv2.BORDER_CONSTANT
    )


def test_farl_warp_map_matches_reference():
    m = _matrix()
    ref = _ref_warp_map(m, F, CANVAS)
    ours = warped_to_original(_grid(CANVAS), m, F, CANVAS, convention='farl')
    assert np.abs(ours - ref).max() <= 1e-3
    # The default convention is a different warp (the switch matters): outer rows move by many pixels.
    centre = warped_to_original(_grid(CANVAS), m, F, CANVAS)
    assert np.abs(centre - ref).max() > 10.0


def test_farl_warped_image_and_labels_match_reference():
    img, label = _sample()
    m = _matrix()
    ref = _ref_warp_map(m, F, CANVAS)
    lab = warp_image(label, m, F, CANVAS, 'nearest', 0, convention='farl')
    np.testing.assert_array_equal(lab, _remap(label, ref, cv2.INTER_NEAREST))
    out = RoITanhWarp(warp_factor=F, convention='farl').transform(
        dict(img=img, gt_seg_map=label, warp_matrix=m, canvas_shape=CANVAS)
    )
    assert out['warp_convention'] == 'farl'
    np.testing.assert_array_equal(out['gt_seg_map'], lab)
    diff = np.abs(out['img'].astype(int) - _remap(img, ref, cv2.INTER_LINEAR).astype(int))
    assert diff.max() <= 1  # same map; at most float32 rounding of a sample position
    # With the default convention some labels change (0.3 % of this sample's canvas).
    assert (warp_image(label, m, F, CANVAS, 'nearest', 0) != lab).mean() > 1e-3


def _bilinear(img, xy):
    """Exact bilinear sampling of img [H, W, C] at xy [h, w, 2] with zeros outside (cv2.remap rounds positions to
    1/32 px, too coarse for a 1e-4 comparison)."""
    h, w = img.shape[:2]
    pad = np.pad(img.astype(np.float64), ((1, 1), (1, 1), (0, 0)))  # [H + 2, W + 2, C]
    x = np.clip(xy[..., 0], -1.0, w) + 1.0
    y = np.clip(xy[..., 1], -1.0, h) + 1.0
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w + 1), np.minimum(y0 + 1, h + 1)
    ax, ay = (x - x0)[..., None], (y - y0)[..., None]
    top = pad[y0, x0] * (1 - ax) + pad[y0, x1] * ax
    bottom = pad[y1, x0] * (1 - ax) + pad[y1, x1] * ax
    return top * (1 - ay) + bottom * ay


def test_farl_unwarp_logits_matches_reference():
    img, label = _sample()
    m = _matrix()
    warped = warp_image(img, m, F, CANVAS, 'bilinear', 0, convention='farl').astype(np.float32)  # [512, 512, 3]
    ref = _bilinear(warped, _ref_inverse_map(m, F, CANVAS, label.shape))  # [H, W, 3], FaRL's cv2.remap exactly
    logits = torch.from_numpy(warped).permute(2, 0, 1)  # [3, 512, 512]
    ours = unwarp_logits(logits, m, F, label.shape, convention='farl').permute(1, 2, 0).numpy()
    assert np.abs(ours - ref).max() <= 1e-4 * 255  # 1e-4 of the value range
    assert np.abs(unwarp_logits(logits, m, F, label.shape).permute(1, 2, 0).numpy() - ref).max() > 1.0


def test_conventions_agree_without_tanh_and_bad_name_is_rejected():
    m = _matrix()
    np.testing.assert_allclose(
        warped_to_original(_grid(CANVAS), m, 0.0, CANVAS, convention='farl'),
        warped_to_original(_grid(CANVAS), m, 0.0, CANVAS),
        atol=1e-9,
    )
    with pytest.raises(ValueError, match='convention'):
        RoITanhWarp(convention='centre')
