"""Face alignment geometry: 5-point similarity to a fixed template and the separable RoI tanh warp.

Conventions (used everywhere in :mod:`mcf_mm.downstream.parsing`):
- Pixel coordinates are OpenCV-style: pixel ``(i, j)`` has its centre at ``x = j, y = i``.
- ``matrix`` is a 3x3 map from ORIGINAL-image pixel coordinates to ALIGNED canvas pixel coordinates
  (the canvas is ``canvas_shape = (H, W)``, before the tanh warp).
- A canvas pixel coordinate ``u`` is normalised as ``n = (u + 0.5) / W * 2 - 1`` (pixel edges at -1 and +1,
  the ``align_corners=False`` convention of ``torch.nn.functional.grid_sample``).
- The tanh warp acts on each normalised axis separately (NOT polar): with ``f`` the warp factor,
  ``|n| <= 1 - f`` is left unchanged and beyond it ``n' = sign(n) * (tanh((|n| - (1 - f)) / f) * f + 1 - f)``.
  ``f = 0`` is a plain affine crop.

Image warping therefore needs the INVERSE map (warped canvas pixel -> original pixel), and putting logits
back on the original image needs the FORWARD map (original pixel -> warped canvas position).
"""
from typing import Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

# FaRL / facer 5-point template (left eye, right eye, nose tip, left and right mouth corner) on a 512 grid,
# normalised to [-1, 1].
FACE_TEMPLATE_5PTS = np.array([[196.0, 226.0], [316.0, 226.0], [256.0, 286.0], [220.0, 360.4],
                               [292.0, 360.4]], dtype=np.float64) / 256.0 - 1.0  # [5, 2]
# LaPa 106-point indices of those five points.
LAPA_5PT_INDICES = (104, 105, 54, 84, 90)
_ATANH_CLIP = 0.999


def template_points(canvas_shape: Sequence[int], face_scale: float = 1.0) -> np.ndarray:
    """The 5-point template in canvas pixel coordinates (as FaRL: ``(t * s + 1) * (size - 1) / 2``).

    Args:
        canvas_shape: (H, W) of the aligned canvas.
        face_scale: shrinks (< 1) or grows (> 1) the face inside the canvas.
    """
    h, w = canvas_shape[:2]
    return (FACE_TEMPLATE_5PTS * face_scale + 1.0) * np.array([w - 1, h - 1], np.float64) / 2.0  # [5, 2]


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, isotropic scale, translation) mapping ``src`` onto ``dst``.

    Args:
        src: [K, 2] points, K >= 2.
        dst: [K, 2] points.

    Returns:
        [3, 3] matrix ``M`` with ``dst ~ M @ [src, 1]``.
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or src.shape[0] < 2:
        raise ValueError(f'similarity needs two [K, 2] point sets with K >= 2, got {src.shape} and {dst.shape}')
    if not np.isfinite(src).all():
        raise ValueError('face landmarks contain NaN/inf; fix or drop this annotation')
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d  # [K, 2]
    var = (s ** 2).sum()
    if var < 1e-12:
        raise ValueError('face landmarks are all at the same point; the annotation is degenerate')
    a = (s * d).sum() / var  # scale * cos
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / var  # scale * sin
    m = np.array([[a, -b, 0.0], [b, a, 0.0], [0.0, 0.0, 1.0]])
    m[:2, 2] = mu_d - m[:2, :2] @ mu_s
    return m


def align_matrix_from_landmarks(points: np.ndarray, canvas_shape: Sequence[int],
                                face_scale: float = 1.0) -> np.ndarray:
    """3x3 similarity taking five face points (eyes, nose, mouth corners) to the template on the canvas."""
    return estimate_similarity(points, template_points(canvas_shape, face_scale))


def fit_image_matrix(image_shape: Sequence[int], canvas_shape: Sequence[int]) -> np.ndarray:
    """3x3 scale + translation fitting the whole image, centred and aspect kept, into the canvas."""
    h, w = image_shape[:2]
    ch, cw = canvas_shape[:2]
    s = min(ch / h, cw / w)
    # Pixel edges: [-0.5, w - 0.5] -> centred interval of length s * w on [-0.5, cw - 0.5].
    tx = (cw - s * w) / 2.0 - 0.5 + 0.5 * s
    ty = (ch - s * h) / 2.0 - 0.5 + 0.5 * s
    return np.array([[s, 0.0, tx], [0.0, s, ty], [0.0, 0.0, 1.0]])


def similarity_about_center(angle_deg: float, scale: float, shift_xy: Sequence[float],
                            canvas_shape: Sequence[int]) -> np.ndarray:
    """3x3 rotation + scale about the canvas centre followed by a shift (pixels), for augmentation."""
    h, w = canvas_shape[:2]
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    t = np.deg2rad(angle_deg)
    c, s = scale * np.cos(t), scale * np.sin(t)
    return np.array([[c, -s, cx - c * cx + s * cy + shift_xy[0]],
                     [s, c, cy - s * cx - c * cy + shift_xy[1]],
                     [0.0, 0.0, 1.0]])


def hflip_matrix(canvas_shape: Sequence[int]) -> np.ndarray:
    """3x3 horizontal flip of the canvas (x -> W - 1 - x)."""
    w = canvas_shape[1]
    return np.array([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def tanh_compress(n: np.ndarray, warp_factor: float) -> np.ndarray:
    """Separable tanh warp on normalised coordinates (identity when ``warp_factor == 0``)."""
    if warp_factor <= 0:
        return n
    lin = 1.0 - warp_factor
    a = np.abs(n)
    out = np.tanh((a - lin) / warp_factor) * warp_factor + lin
    return np.where(a > lin, np.sign(n) * out, n)


def tanh_expand(n: np.ndarray, warp_factor: float) -> np.ndarray:
    """Inverse of :func:`tanh_compress` (argument clipped to +-0.999 inside the arctanh, as FaRL)."""
    if warp_factor <= 0:
        return n
    lin = 1.0 - warp_factor
    a = np.abs(n)
    t = np.clip((a - lin) / warp_factor, -_ATANH_CLIP, _ATANH_CLIP)
    out = np.arctanh(t) * warp_factor + lin
    return np.where(a > lin, np.sign(n) * out, n)


def _apply(matrix: np.ndarray, pts: np.ndarray) -> np.ndarray:
    homo = pts @ matrix[:2, :2].T + matrix[:2, 2]  # [..., 2]
    return homo


def _to_norm(u: np.ndarray, canvas_shape: Sequence[int]) -> np.ndarray:
    h, w = canvas_shape[:2]
    return (u + 0.5) / np.array([w, h], np.float64) * 2.0 - 1.0


def _from_norm(n: np.ndarray, canvas_shape: Sequence[int]) -> np.ndarray:
    h, w = canvas_shape[:2]
    return (n + 1.0) / 2.0 * np.array([w, h], np.float64) - 0.5


def original_to_warped(points: np.ndarray, matrix: np.ndarray, warp_factor: float,
                       canvas_shape: Sequence[int]) -> np.ndarray:
    """Map original-image pixel coordinates [..., 2] (x, y) to warped-canvas pixel coordinates."""
    aligned = _apply(np.asarray(matrix, np.float64), np.asarray(points, np.float64))
    return _from_norm(tanh_compress(_to_norm(aligned, canvas_shape), warp_factor), canvas_shape)


def warped_to_original(points: np.ndarray, matrix: np.ndarray, warp_factor: float,
                       canvas_shape: Sequence[int]) -> np.ndarray:
    """Map warped-canvas pixel coordinates [..., 2] (x, y) back to original-image pixel coordinates."""
    aligned = _from_norm(tanh_expand(_to_norm(np.asarray(points, np.float64), canvas_shape), warp_factor),
                         canvas_shape)
    return _apply(np.linalg.inv(np.asarray(matrix, np.float64)), aligned)


def _pixel_grid(shape: Sequence[int]) -> np.ndarray:
    h, w = shape[:2]
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing='ij')
    return np.stack([xs, ys], axis=-1)  # [H, W, 2]


def warp_image(image: np.ndarray, matrix: np.ndarray, warp_factor: float, canvas_shape: Sequence[int],
               interpolation: str = 'bilinear', border_value: float = 0) -> np.ndarray:
    """Warp an original image (or label map) onto the tanh-warped canvas.

    Args:
        image: [H, W] or [H, W, C] array.
        matrix: [3, 3] original -> aligned canvas.
        warp_factor: tanh warp factor (0 = affine crop).
        canvas_shape: (H', W') of the output.
        interpolation: 'bilinear' for images, 'nearest' for label maps.
        border_value: value for samples outside the image.

    Returns:
        [H', W'] or [H', W', C] array of the input dtype.
    """
    src = warped_to_original(_pixel_grid(canvas_shape), matrix, warp_factor, canvas_shape)  # [H', W', 2]
    flags = {'bilinear': cv2.INTER_LINEAR, 'nearest': cv2.INTER_NEAREST}
    if interpolation not in flags:
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
    map_x = src[..., 0].astype(np.float32)
    map_y = src[..., 1].astype(np.float32)
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels > 4:  # cv2.remap handles at most 4 channels at once
        return np.stack([warp_image(image[..., c], matrix, warp_factor, canvas_shape, interpolation,
                                    border_value) for c in range(channels)], axis=-1)
    out = cv2.remap(image, map_x, map_y, flags[interpolation], borderMode=cv2.BORDER_CONSTANT,
                    borderValue=border_value)
    if image.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out


def inverse_warp_grid(matrix: np.ndarray, warp_factor: float, canvas_shape: Sequence[int],
                      ori_shape: Sequence[int]) -> np.ndarray:
    """``grid_sample`` grid [H, W, 2] that reads the warped canvas at every ORIGINAL pixel."""
    aligned = _apply(np.asarray(matrix, np.float64), _pixel_grid(ori_shape))  # [H, W, 2]
    return tanh_compress(_to_norm(aligned, canvas_shape), warp_factor)


def unwarp_logits(logits: Tensor, matrix: np.ndarray, warp_factor: float,
                  ori_shape: Tuple[int, int]) -> Tensor:
    """Put canvas logits [C, H', W'] back onto the original image: [C, H, W] (bilinear).

    Original pixels that fall outside the canvas get zero logits (uniform; argmax = class 0).
    """
    canvas_shape = tuple(logits.shape[-2:])
    grid = inverse_warp_grid(matrix, warp_factor, canvas_shape, ori_shape)
    grid_t = torch.from_numpy(grid).to(device=logits.device, dtype=logits.dtype)[None]  # [1, H, W, 2]
    return F.grid_sample(logits[None], grid_t, mode='bilinear', padding_mode='zeros',
                         align_corners=False)[0]  # [C, H, W]
