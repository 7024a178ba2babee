"""Square face crops from detection metadata (LAION-Face style: box, 5 landmarks, score)."""

from typing import Optional, Sequence

import cv2
import numpy as np


def crop_face(
    img: np.ndarray, box: Sequence[float], margin: float = 0.3, size: int = 224, landmarks: Optional[np.ndarray] = None
) -> np.ndarray:
    """Cut a square crop centred on the box (or on the landmarks' centre), enlarged by ``margin``.

    Args:
        img: [H, W, C] image.
        box: x1, y1, x2, y2 in pixels.
        margin: fraction of the box's longer side added on EACH side (0.3 -> side = 1.6 x box side).
        size: output side in pixels.
        landmarks: optional [5, 2] points; when given, the crop is centred on their mean.
    Returns:
        [size, size, C] crop; outside the image is filled with zeros.
    """
    x1, y1, x2, y2 = map(float, box)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f'degenerate face box {box}: need x2 > x1 and y2 > y1.')
    if margin < 0 or size <= 0:
        raise ValueError(f'margin={margin} must be >= 0 and size={size} > 0.')
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    if landmarks is not None:
        cx, cy = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2).mean(0)
    else:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    scale = size / side
    # Affine map: crop pixel centre (u + 0.5) <- source point (cx - side/2 + (u + 0.5) / scale).
    m = np.array([[scale, 0, size / 2 - cx * scale], [0, scale, size / 2 - cy * scale]], dtype=np.float64)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(img, m, (size, size), flags=interp, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
