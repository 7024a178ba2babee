"""The one image-geometry convention of the downstream plugins (alignment crops, parsing warps, inference).

- Pixel coordinates are OpenCV's: the centre of pixel (row i, column j) is (x=j, y=i); the image's pixel
  edges lie at -0.5 and ``size - 0.5``. Points therefore move by the same matrix ``cv2.warpAffine`` uses.
- A transform is a 3x3 homogeneous matrix from SOURCE-image pixels to TARGET (crop / canvas) pixels,
  ``target = M @ [x, y, 1]``. Its top two rows are the 2x3 matrix OpenCV takes; every function here accepts
  either form and :func:`invert_matrix` returns the form it was given.
- Angles are in degrees, positive = counter-clockwise on screen (y points down), as ``cv2.getRotationMatrix2D``.
- Normalised coordinates put the pixel edges at 0 and 1: ``u = (p + 0.5) / size`` (``grid_sample`` with
  ``align_corners=False`` uses ``2u - 1``).
"""

import math
from typing import Sequence, Tuple

import numpy as np


def as_3x3(matrix: np.ndarray) -> np.ndarray:
    """A 2x3 or 3x3 affine matrix as a float64 3x3 matrix."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape == (3, 3):
        return m
    if m.shape != (2, 3):
        raise ValueError(f'an affine matrix must be 2x3 or 3x3, got shape {m.shape}.')
    return np.vstack([m, [0.0, 0.0, 1.0]])


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 or 3x3 affine matrix to points [..., 2] (x, y); returns float64 [..., 2]."""
    pts = np.asarray(points, dtype=np.float64)
    m = np.asarray(matrix, dtype=np.float64)
    return pts @ m[:2, :2].T + m[:2, 2]  # [..., 2]


def invert_matrix(matrix: np.ndarray) -> np.ndarray:
    """Inverse of an affine matrix, in the form (2x3 or 3x3) it was given."""
    inv = np.linalg.inv(as_3x3(matrix))  # [3, 3]
    return inv[:2] if np.shape(matrix) == (2, 3) else inv


def similarity_matrix(angle_deg: float, scale: float, center: Sequence[float], target: Sequence[float]) -> np.ndarray:
    """3x3 similarity taking ``center`` to ``target``, rotating by ``angle_deg`` and scaling by ``scale`` about it.

    ``out = R(angle) * scale * (p - center) + target``, with R counter-clockwise on screen.
    """
    a = math.radians(angle_deg)
    cos, sin = math.cos(a) * scale, math.sin(a) * scale
    cx, cy = float(center[0]), float(center[1])
    tx, ty = float(target[0]), float(target[1])
    return np.array(
        [[cos, sin, tx - cos * cx - sin * cy], [-sin, cos, ty + sin * cx - cos * cy], [0.0, 0.0, 1.0]], dtype=np.float64
    )


def hflip_matrix(width: int) -> np.ndarray:
    """3x3 horizontal mirror of an image ``width`` pixels wide (x -> width - 1 - x)."""
    return np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def box_size(box: Sequence[float]) -> float:
    """Side of the square a box ``[x1, y1, x2, y2]`` is cropped to: its longer side."""
    x1, y1, x2, y2 = [float(v) for v in box]
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f'invalid face box {list(box)}: expected [x1, y1, x2, y2] with x2 > x1 and y2 > y1.')
    return max(x2 - x1, y2 - y1)


BOX_MODES = ('square', 'stretch')


def crop_matrix(
    box: Sequence[float],
    out_size: int,
    face_scale: float = 1.0,
    angle_deg: float = 0.0,
    scale: float = 1.0,
    shift: Tuple[float, float] = (0.0, 0.0),
    box_mode: str = 'square',
) -> np.ndarray:
    """2x3 matrix mapping image pixels to an ``out_size``² crop around a face box.

    ``box_mode='square'`` (default): the box's longer side fills ``face_scale`` of the crop, aspect kept.
    ``box_mode='stretch'`` (FaRL's training code): each axis of the box is mapped onto the crop independently
    (pixel edges: x1 -> -0.5, x2 -> out_size - 0.5, likewise y; a non-square box is stretched), then zoomed by
    ``face_scale`` about the crop centre. Either way the crop is then rotated by ``angle_deg``, zoomed by
    ``scale`` and its centre shifted by ``shift`` (fractions of the crop side): the train-time augmentation.

    Args:
        box: face box [x1, y1, x2, y2] in image pixels.
        out_size: crop side in pixels (512 in the protocol).
        face_scale: fraction of the crop side covered by the box (1.0 AFLW-19, 0.8 300W/WFLW).
        angle_deg, scale, shift: random similarity parameters (identity by default).
        box_mode: 'square' or 'stretch' (see above).
    Returns:
        float64 [2, 3] matrix M with ``crop_xy = M @ [x, y, 1]``.
    """
    if face_scale <= 0 or scale <= 0:
        raise ValueError(f'face_scale ({face_scale}) and scale ({scale}) must be positive.')
    if box_mode not in BOX_MODES:
        raise ValueError(f'box_mode must be one of {BOX_MODES}, got {box_mode!r}.')
    longer = box_size(box)  # validates the box
    x1, y1, x2, y2 = [float(v) for v in box]
    c = (out_size - 1) / 2.0
    target = (c + shift[0] * out_size, c + shift[1] * out_size)
    if box_mode == 'stretch':
        ax, ay = out_size / (x2 - x1), out_size / (y2 - y1)
        box_to_crop = np.array([[ax, 0.0, -x1 * ax - 0.5], [0.0, ay, -y1 * ay - 0.5], [0.0, 0.0, 1.0]])
        m = similarity_matrix(angle_deg, face_scale * scale, (c, c), target) @ box_to_crop  # [3, 3]
        return np.ascontiguousarray(m[:2])
    side = longer / face_scale  # crop side in image pixels
    centre = ((x1 + x2) / 2.0, (y1 + y2) / 2.0)
    return np.ascontiguousarray(similarity_matrix(angle_deg, out_size / side * scale, centre, target)[:2])


def crop_to_image(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map crop-pixel points [..., 2] back to source-image pixels (the exact inverse of the crop)."""
    return transform_points(points, invert_matrix(matrix))


def fit_image_matrix(image_shape: Sequence[int], canvas_shape: Sequence[int]) -> np.ndarray:
    """3x3 scale + translation fitting the whole image (H, W), centred and aspect kept, into the canvas (H, W)."""
    h, w = image_shape[:2]
    ch, cw = canvas_shape[:2]
    s = min(ch / h, cw / w)
    # Pixel edges: [-0.5, w - 0.5] -> centred interval of length s * w on [-0.5, cw - 0.5].
    tx = (cw - s * w) / 2.0 - 0.5 + 0.5 * s
    ty = (ch - s * h) / 2.0 - 0.5 + 0.5 * s
    return np.array([[s, 0.0, tx], [0.0, s, ty], [0.0, 0.0, 1.0]])


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, isotropic scale, translation; no reflection) mapping ``src`` onto ``dst``.

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
    var = (s**2).sum()
    if var < 1e-12:
        raise ValueError('face landmarks are all at the same point; the annotation is degenerate')
    a = (s * d).sum() / var  # scale * cos
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / var  # scale * sin (clockwise on screen)
    m = np.array([[a, -b, 0.0], [b, a, 0.0], [0.0, 0.0, 1.0]])
    m[:2, 2] = mu_d - m[:2, :2] @ mu_s
    return m


def pixels_to_unit(points: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Pixel coordinates [..., 2] -> normalised coordinates with the pixel edges at 0 and 1; size = (W, H)."""
    return (np.asarray(points, dtype=np.float64) + 0.5) / np.asarray(size, dtype=np.float64)


def unit_to_pixels(coords: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`pixels_to_unit`; size = (W, H)."""
    return np.asarray(coords, dtype=np.float64) * np.asarray(size, dtype=np.float64) - 0.5
