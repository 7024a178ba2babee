"""Face parsing geometry: 5-point similarity to a fixed template and the separable RoI tanh warp.

Conventions: those of :mod:`mcf_mm.downstream.common.geometry` (OpenCV pixel centres, 3x3 matrices from
source to target pixels), with
- ``matrix`` a 3x3 map from ORIGINAL-image pixel coordinates to ALIGNED canvas pixel coordinates
  (the canvas is ``canvas_shape = (H, W)``, before the tanh warp);
- a canvas pixel coordinate ``u`` normalised by one of two conventions (``convention``):
  ``'pixel_centre'`` (default): ``n = (u + 0.5) / W * 2 - 1``, back ``u = (n + 1) / 2 * W - 0.5`` (pixel edges at
  -1 and +1, the ``align_corners=False`` convention of ``torch.nn.functional.grid_sample``);
  ``'farl'``: ``n = u / W * 2 - 1``, back ``u = (n + 1) / 2 * W`` (FaRL's training code: pixel 0 at -1, so the
  warp is not symmetric about the canvas centre). Both agree when ``f = 0``.
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

from ..common.geometry import estimate_similarity, invert_matrix, pixels_to_unit, transform_points, unit_to_pixels

# FaRL / facer 5-point template (left eye, right eye, nose tip, left and right mouth corner) on a 512 grid,
# normalised to [-1, 1].
FACE_TEMPLATE_5PTS = (
    np.array([[196.0, 226.0], [316.0, 226.0], [256.0, 286.0], [220.0, 360.4], [292.0, 360.4]], dtype=np.float64) / 256.0
    - 1.0
)  # [5, 2]
# LaPa 106-point indices of those five points.
LAPA_5PT_INDICES = (104, 105, 54, 84, 90)
_ATANH_CLIP = 0.999
WARP_CONVENTIONS = ('pixel_centre', 'farl')


def template_points(canvas_shape: Sequence[int], face_scale: float = 1.0) -> np.ndarray:
    """The 5-point template in canvas pixel coordinates (as FaRL: ``(t * s + 1) * (size - 1) / 2``).

    Args:
        canvas_shape: (H, W) of the aligned canvas.
        face_scale: shrinks (< 1) or grows (> 1) the face inside the canvas.
    """
    h, w = canvas_shape[:2]
    return (FACE_TEMPLATE_5PTS * face_scale + 1.0) * np.array([w - 1, h - 1], np.float64) / 2.0  # [5, 2]


def align_matrix_from_landmarks(points: np.ndarray, canvas_shape: Sequence[int], face_scale: float = 1.0) -> np.ndarray:
    """3x3 similarity taking five face points (eyes, nose, mouth corners) to the template on the canvas."""
    return estimate_similarity(points, template_points(canvas_shape, face_scale))


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


def _check_convention(convention: str) -> None:
    if convention not in WARP_CONVENTIONS:
        raise ValueError(f'warp convention must be one of {WARP_CONVENTIONS}, got {convention!r}')


def _to_norm(u: np.ndarray, canvas_shape: Sequence[int], convention: str = 'pixel_centre') -> np.ndarray:
    """Canvas pixel coordinates [..., 2] (x, y) -> normalised [-1, 1] coordinates by ``convention``."""
    _check_convention(convention)
    h, w = canvas_shape[:2]
    if convention == 'farl':
        return np.asarray(u, np.float64) / np.array([w, h], np.float64) * 2.0 - 1.0
    return pixels_to_unit(u, (w, h)) * 2.0 - 1.0  # grid_sample's [-1, 1]


def _from_norm(n: np.ndarray, canvas_shape: Sequence[int], convention: str = 'pixel_centre') -> np.ndarray:
    """Inverse of :func:`_to_norm`."""
    _check_convention(convention)
    h, w = canvas_shape[:2]
    if convention == 'farl':
        return (np.asarray(n, np.float64) + 1.0) / 2.0 * np.array([w, h], np.float64)
    return unit_to_pixels((n + 1.0) / 2.0, (w, h))


def original_to_warped(
    points: np.ndarray,
    matrix: np.ndarray,
    warp_factor: float,
    canvas_shape: Sequence[int],
    convention: str = 'pixel_centre',
) -> np.ndarray:
    """Map original-image pixel coordinates [..., 2] (x, y) to warped-canvas pixel coordinates."""
    aligned = transform_points(points, matrix)
    n = tanh_compress(_to_norm(aligned, canvas_shape, convention), warp_factor)
    return _from_norm(n, canvas_shape, convention)


def warped_to_original(
    points: np.ndarray,
    matrix: np.ndarray,
    warp_factor: float,
    canvas_shape: Sequence[int],
    convention: str = 'pixel_centre',
) -> np.ndarray:
    """Map warped-canvas pixel coordinates [..., 2] (x, y) back to original-image pixel coordinates."""
    n = tanh_expand(_to_norm(np.asarray(points, np.float64), canvas_shape, convention), warp_factor)
    aligned = _from_norm(n, canvas_shape, convention)
    return transform_points(aligned, invert_matrix(matrix))


def _pixel_grid(shape: Sequence[int]) -> np.ndarray:
    h, w = shape[:2]
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing='ij')
    return np.stack([xs, ys], axis=-1)  # [H, W, 2]


def warp_image(
    image: np.ndarray,
    matrix: np.ndarray,
    warp_factor: float,
    canvas_shape: Sequence[int],
    interpolation: str = 'bilinear',
    border_value: float = 0,
    convention: str = 'pixel_centre',
) -> np.ndarray:
    """Warp an original image (or label map) onto the tanh-warped canvas.

    Args:
        image: [H, W] or [H, W, C] array.
        matrix: [3, 3] original -> aligned canvas.
        warp_factor: tanh warp factor (0 = affine crop).
        canvas_shape: (H', W') of the output.
        interpolation: 'bilinear' for images, 'nearest' for label maps.
        border_value: value for samples outside the image.
        convention: pixel <-> normalised convention of the tanh warp ('pixel_centre' or 'farl').

    Returns:
        [H', W'] or [H', W', C] array of the input dtype.
    """
    src = warped_to_original(_pixel_grid(canvas_shape), matrix, warp_factor, canvas_shape, convention)  # [H', W', 2]
    flags = {'bilinear': cv2.INTER_LINEAR, 'nearest': cv2.INTER_NEAREST}
    if interpolation not in flags:
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest', got {interpolation!r}")
    map_x = src[..., 0].astype(np.float32)
    map_y = src[..., 1].astype(np.float32)
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels > 4:  # cv2.remap handles at most 4 channels at once
        return np.stack(
            [
                warp_image(image[..., c], matrix, warp_factor, canvas_shape, interpolation, border_value, convention)
                for c in range(channels)
            ],
            axis=-1,
        )
    out = cv2.remap(image, map_x, map_y, flags[interpolation], borderMode=cv2.BORDER_CONSTANT, borderValue=border_value)
    if image.ndim == 3 and out.ndim == 2:
        out = out[..., None]
    return out


def inverse_warp_grid(
    matrix: np.ndarray,
    warp_factor: float,
    canvas_shape: Sequence[int],
    ori_shape: Sequence[int],
    convention: str = 'pixel_centre',
) -> np.ndarray:
    """``grid_sample`` grid [H, W, 2] (``align_corners=False``) reading the warped canvas at every ORIGINAL pixel."""
    warped = original_to_warped(_pixel_grid(ori_shape), matrix, warp_factor, canvas_shape, convention)  # [H, W, 2]
    return _to_norm(warped, canvas_shape)  # grid_sample's own normalisation, whatever the warp's convention


def unwarp_logits(
    logits: Tensor,
    matrix: np.ndarray,
    warp_factor: float,
    ori_shape: Tuple[int, int],
    convention: str = 'pixel_centre',
) -> Tensor:
    """Put canvas logits [C, H', W'] back onto the original image: [C, H, W] (bilinear), with the inverse of the
    warp the image went through (same ``convention``).

    Original pixels that fall outside the canvas get zero logits (uniform; argmax = class 0).
    """
    canvas_shape = tuple(logits.shape[-2:])
    grid = inverse_warp_grid(matrix, warp_factor, canvas_shape, ori_shape, convention)
    grid_t = torch.from_numpy(grid).to(device=logits.device, dtype=logits.dtype)[None]  # [1, H, W, 2]
    return F.grid_sample(logits[None], grid_t, mode='bilinear', padding_mode='zeros', align_corners=False)[
        0
    ]  # [C, H, W]
