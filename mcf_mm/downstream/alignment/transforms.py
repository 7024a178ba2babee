"""Data transforms of the FaRL alignment protocol (mmpose TRANSFORMS): box crop with random similarity,
occlusion, noise blend, gray, gamma, blur. No flip (it would need left/right landmark swapping)."""
from typing import Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from .geometry import box_size, crop_matrix, transform_points


@TRANSFORMS.register_module()
class FaceBoxCrop(BaseTransform):
    """Warp the face box to an ``input_size``² crop; optionally with FaRL's random similarity.

    Reads ``img``, ``bbox`` [1, 4] (x1, y1, x2, y2) and, if present, ``keypoints`` [1, K, 2]. Writes the
    crop ``img``, ``transformed_keypoints``, ``crop_matrix`` (2x3, image -> crop, inverted exactly at
    test time) and mmpose's ``input_size`` / ``input_center`` / ``input_scale``.

    Args:
        input_size: crop side (512).
        face_scale: fraction of the crop covered by the box's longer side (1.0 AFLW-19, 0.8 300W/WFLW).
        rotate: max |angle| in degrees, uniform (10); 0 = deterministic.
        shift: max |shift| as a fraction of the crop side, uniform per axis (0.05).
        scale: max relative zoom change, uniform in [1 - scale, 1 + scale] (0.1).
    """

    def __init__(self, input_size: int = 512, face_scale: float = 1.0, rotate: float = 0.0,
                 shift: float = 0.0, scale: float = 0.0) -> None:
        self.input_size = int(input_size)
        self.face_scale = float(face_scale)
        self.rotate, self.shift, self.scale = float(rotate), float(shift), float(scale)

    def _sample(self) -> Tuple[float, float, Tuple[float, float]]:
        angle = np.random.uniform(-self.rotate, self.rotate) if self.rotate > 0 else 0.0
        zoom = np.random.uniform(1 - self.scale, 1 + self.scale) if self.scale > 0 else 1.0
        shift = tuple(np.random.uniform(-self.shift, self.shift, size=2)) if self.shift > 0 else (0.0, 0.0)
        return angle, zoom, shift

    def transform(self, results: dict) -> dict:
        if 'bbox' not in results:
            raise KeyError('FaceBoxCrop needs results["bbox"] ([1, 4] x1, y1, x2, y2); give a face box or '
                           'use the whole image as the box.')
        box = np.asarray(results['bbox'], dtype=np.float64).reshape(-1, 4)[0]
        angle, zoom, shift = self._sample()
        m = crop_matrix(box, self.input_size, self.face_scale, angle, zoom, shift)  # [2, 3]
        s = self.input_size
        results['img'] = cv2.warpAffine(results['img'], m, (s, s), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if results.get('keypoints') is not None:
            results['transformed_keypoints'] = transform_points(results['keypoints'], m).astype(np.float32)
        results['crop_matrix'] = m
        results['img_shape'] = (s, s)
        results['input_size'] = (s, s)
        results['input_center'] = ((box[:2] + box[2:]) / 2).astype(np.float32)
        side = box_size(box) / self.face_scale
        results['input_scale'] = np.array([side, side], dtype=np.float32)
        return results


class _RandomApply(BaseTransform):
    """Base for photometric transforms applied with probability ``prob`` to a uint8/float image."""

    def __init__(self, prob: float) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must lie in [0, 1], got {prob}.')
        self.prob = prob

    def apply(self, img: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            img = results['img']
            out = self.apply(img.astype(np.float32))
            results['img'] = np.clip(out, 0, 255).astype(img.dtype)
        return results


@TRANSFORMS.register_module()
class RandomOcclusion(_RandomApply):
    """Paint a black rectangle of random size (up to ``max_frac`` of each side) at a random place."""

    def __init__(self, prob: float = 0.5, max_frac: float = 0.4) -> None:
        super().__init__(prob)
        self.max_frac = max_frac

    def apply(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        rh = max(1, int(np.random.uniform(0.05, self.max_frac) * h))
        rw = max(1, int(np.random.uniform(0.05, self.max_frac) * w))
        y, x = np.random.randint(0, h - rh + 1), np.random.randint(0, w - rw + 1)
        img[y:y + rh, x:x + rw] = 0
        return img


@TRANSFORMS.register_module()
class NoiseBlend(_RandomApply):
    """Blend the image with uniform noise: ``(1 - a) * img + a * noise``, ``a ~ U(0, max_alpha)``."""

    def __init__(self, prob: float = 0.5, max_alpha: float = 0.3) -> None:
        super().__init__(prob)
        self.max_alpha = max_alpha

    def apply(self, img: np.ndarray) -> np.ndarray:
        a = np.random.uniform(0, self.max_alpha)
        return (1 - a) * img + a * np.random.uniform(0, 255, size=img.shape).astype(np.float32)


@TRANSFORMS.register_module()
class RandomGray(_RandomApply):
    """Replace the colour image by its (3-channel) gray version."""

    def __init__(self, prob: float = 0.1) -> None:
        super().__init__(prob)

    def apply(self, img: np.ndarray) -> np.ndarray:
        gray = img @ np.array([0.114, 0.587, 0.299], dtype=np.float32)  # BGR weights, [H, W]
        return np.repeat(gray[..., None], img.shape[2], axis=2)


@TRANSFORMS.register_module()
class RandomGamma(_RandomApply):
    """Gamma correction ``255 * (img / 255) ** g`` with ``log g ~ U(log lo, log hi)``."""

    def __init__(self, prob: float = 0.5, gamma_range: Tuple[float, float] = (0.6, 1.6)) -> None:
        super().__init__(prob)
        self.gamma_range = gamma_range

    def apply(self, img: np.ndarray) -> np.ndarray:
        g = float(np.exp(np.random.uniform(*np.log(self.gamma_range))))
        return 255.0 * (img / 255.0) ** g


@TRANSFORMS.register_module()
class RandomBlur(_RandomApply):
    """Gaussian blur with ``sigma ~ U(0.1, max_sigma)``."""

    def __init__(self, prob: float = 0.3, max_sigma: float = 2.0) -> None:
        super().__init__(prob)
        self.max_sigma = max_sigma

    def apply(self, img: np.ndarray, sigma: Optional[float] = None) -> np.ndarray:
        sigma = np.random.uniform(0.1, self.max_sigma) if sigma is None else sigma
        return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma)
