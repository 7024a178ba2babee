"""Crop geometry of the FaRL alignment protocol: face box -> square crop (+ random similarity) and its inverse.

Convention (OpenCV's): pixel centres sit at integer coordinates, so points move by the same 2x3 matrix
that ``cv2.warpAffine`` uses for the image, and the inverse matrix maps crop points back exactly.
"""
import math
from typing import Sequence, Tuple

import numpy as np


def box_size(box: Sequence[float]) -> float:
    """Side of the square a box ``[x1, y1, x2, y2]`` is cropped to: its longer side."""
    x1, y1, x2, y2 = [float(v) for v in box]
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f'invalid face box {list(box)}: expected [x1, y1, x2, y2] with x2 > x1 and y2 > y1.')
    return max(x2 - x1, y2 - y1)


def crop_matrix(box: Sequence[float], out_size: int, face_scale: float = 1.0, angle_deg: float = 0.0,
                scale: float = 1.0, shift: Tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """2x3 matrix mapping image pixels to an ``out_size``² crop around a face box.

    The box's longer side fills ``face_scale`` of the crop; then the crop is rotated by ``angle_deg``
    (counter-clockwise on screen), zoomed by ``scale`` and its centre shifted by ``shift`` (fractions of
    the crop side) -- the train-time augmentation of FaRL.

    Args:
        box: face box [x1, y1, x2, y2] in image pixels.
        out_size: crop side in pixels (512 in the protocol).
        face_scale: fraction of the crop side covered by the box (1.0 AFLW-19, 0.8 300W/WFLW).
        angle_deg, scale, shift: random similarity parameters (identity by default).
    Returns:
        float64 [2, 3] matrix M with ``crop_xy = M @ [x, y, 1]``.
    """
    if face_scale <= 0 or scale <= 0:
        raise ValueError(f'face_scale ({face_scale}) and scale ({scale}) must be positive.')
    x1, y1, x2, y2 = [float(v) for v in box]
    side = box_size(box) / face_scale  # crop side in image pixels
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    zoom = out_size / side * scale
    a = math.radians(angle_deg)
    cos, sin = math.cos(a) * zoom, math.sin(a) * zoom
    # crop = R * zoom * (p - centre) + crop centre + shift
    tx = (out_size - 1) / 2.0 + shift[0] * out_size
    ty = (out_size - 1) / 2.0 + shift[1] * out_size
    return np.array([[cos, sin, tx - cos * cx - sin * cy],
                     [-sin, cos, ty + sin * cx - cos * cy]], dtype=np.float64)


def invert_matrix(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix (as a 2x3 matrix)."""
    full = np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])  # [3, 3]
    return np.linalg.inv(full)[:2]


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to points of shape [..., 2]."""
    pts = np.asarray(points, dtype=np.float64)
    m = np.asarray(matrix, dtype=np.float64)
    return pts @ m[:, :2].T + m[:, 2]  # [..., 2]


def crop_to_image(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map crop-pixel points [..., 2] back to original-image pixels (the exact inverse of the crop)."""
    return transform_points(points, invert_matrix(matrix))
