"""Photometric train augmentations shared by the alignment (mmpose) and parsing (mmseg) plugins.

Every transform reads and writes ``results['img']`` only, so one class serves both hosts; each plugin registers
all of them in its own ``TRANSFORMS`` (:func:`register_photometric_transforms`). Two recipes live here side by side:

- the alignment recipe (:class:`RandomOcclusion`, :class:`NoiseBlend`, :class:`RandomGray`, :class:`RandomGamma`,
  :class:`RandomBlur`): each applied with a probability, computed on a float32 copy and cast back to the
  input dtype by truncation; FaRL's alignment augmenters are this recipe with the occlusion's ``law='blueprint'``
  (always), noise p 0.5 with alpha ~ U(0, 0.5), and the parsing recipe's gamma and blur (same laws);
- the parsing recipe (:class:`FaceRandomGray`, :class:`FaceRandomGamma`, :class:`FaceRandomBlur`): computed on
  the uint8 image with OpenCV's rounding (grey with probability 0.1, one of three gammas, a small box blur).
"""

from typing import Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.registry import Registry

# ITU-R BT.601 luma weights in OpenCV's BGR channel order (cv2.COLOR_BGR2GRAY uses the same).
GRAY_WEIGHTS_BGR = (0.114, 0.587, 0.299)


def to_gray(img: np.ndarray) -> np.ndarray:
    """BGR [H, W, C] -> grey on every channel: uint8 via OpenCV (rounded), float as the weighted sum in its type."""
    if img.dtype == np.uint8:
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)  # [H, W]
    else:
        gray = img @ np.array(GRAY_WEIGHTS_BGR, dtype=img.dtype)  # [H, W]
    return np.repeat(gray[..., None], img.shape[2], axis=2)


def gamma_curve(values: np.ndarray, gamma: float) -> np.ndarray:
    """Gamma correction of intensities in [0, 255]: ``255 * (v / 255) ** gamma``."""
    return 255.0 * (values / 255.0) ** gamma


class RandomApply(BaseTransform):
    """Base of the photometric transforms: replace ``results['img']`` by :meth:`apply` with probability ``prob``.

    Args:
        prob: probability of applying the transform.
        float_compute: compute on a float32 copy, clip to [0, 255] and cast back to the input dtype (truncating,
            the alignment recipe); otherwise :meth:`apply` gets the image as it is.
    """

    def __init__(self, prob: float, float_compute: bool = True) -> None:
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must lie in [0, 1], got {prob}.')
        self.prob = prob
        self.float_compute = float_compute

    def apply(self, img: np.ndarray) -> np.ndarray:
        """The transform itself, on an [H, W, C] image."""
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            img = results['img']
            if self.float_compute:
                results['img'] = np.clip(self.apply(img.astype(np.float32)), 0, 255).astype(img.dtype)
            else:
                results['img'] = self.apply(img)
        return results

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in vars(self).items())
        return f'{self.__class__.__name__}({args})'


OCCLUSION_LAWS = ('uniform', 'blueprint')


def blueprint_occlusion_box(
    h: int, w: int, h_range: Tuple[float, float] = (0.2, 0.8), w_delta: float = 0.2
) -> Tuple[int, int, int, int]:
    """Inclusive box ``(y0, y1, x0, x1)`` drawn by the size law of FaRL's training augmenter (py-blueprint).

    ``r_h ~ U(h_range)``, ``r_w = r_h + U(-w_delta, w_delta)``; the centre's column is drawn on ``[0, h - 1)``
    and its row on ``[0, w - 1)`` (as the original does; the crops are square); the box spans about
    ``h * r_h / 2`` rows and ``w * r_w / 2`` columns, clipped to the image.
    """
    rh = np.random.uniform(*h_range)
    rw = rh - w_delta + 2 * w_delta * np.random.uniform()
    cx, cy = int((h - 1) * np.random.uniform()), int((w - 1) * np.random.uniform())
    dh, dw = int(h / 2 * rh), int(w / 2 * rw)
    x0, y0 = max(0, cx - dw // 2), max(0, cy - dh // 2)
    x1, y1 = min(w - 1, cx + dw // 2), min(h - 1, cy + dh // 2)
    return y0, y1, x0, x1


class RandomOcclusion(RandomApply):
    """Paint a black rectangle at a random place, with probability ``prob``.

    Args:
        prob: probability of occluding (FaRL: always, 1.0).
        max_frac: ``law='uniform'``: each side U(5 %, ``max_frac``) of the image's.
        law: ``'uniform'`` (mcf_mm's own size law) or ``'blueprint'`` (FaRL's, :func:`blueprint_occlusion_box`).
    """

    def __init__(self, prob: float = 0.5, max_frac: float = 0.4, law: str = 'uniform') -> None:
        super().__init__(prob)
        if law not in OCCLUSION_LAWS:
            raise ValueError(f'law must be one of {OCCLUSION_LAWS}, got {law!r}.')
        self.max_frac = max_frac
        self.law = law

    def apply(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        if self.law == 'blueprint':
            y0, y1, x0, x1 = blueprint_occlusion_box(h, w)
            img[y0 : y1 + 1, x0 : x1 + 1] = 0
            return img
        rh = max(1, int(np.random.uniform(0.05, self.max_frac) * h))
        rw = max(1, int(np.random.uniform(0.05, self.max_frac) * w))
        y, x = np.random.randint(0, h - rh + 1), np.random.randint(0, w - rw + 1)
        img[y : y + rh, x : x + rw] = 0
        return img


class NoiseBlend(RandomApply):
    """Blend the image with uniform noise: ``(1 - a) * img + a * noise``, ``a ~ U(0, max_alpha)``."""

    def __init__(self, prob: float = 0.5, max_alpha: float = 0.3) -> None:
        super().__init__(prob)
        self.max_alpha = max_alpha

    def apply(self, img: np.ndarray) -> np.ndarray:
        a = np.random.uniform(0, self.max_alpha)
        return (1 - a) * img + a * np.random.uniform(0, 255, size=img.shape).astype(np.float32)


class RandomGray(RandomApply):
    """Replace the colour image by its grey version (on every channel); see :func:`to_gray`."""

    def __init__(self, prob: float = 0.1, float_compute: bool = True) -> None:
        super().__init__(prob, float_compute)

    def apply(self, img: np.ndarray) -> np.ndarray:
        return to_gray(img)


class FaceRandomGray(RandomGray):
    """:class:`RandomGray` on the uint8 image (OpenCV's rounding), the parsing recipe (FaRL: ``prob=0.1``)."""

    def __init__(self, prob: float = 0.1) -> None:
        super().__init__(prob, float_compute=False)


class RandomGamma(RandomApply):
    """Gamma correction (:func:`gamma_curve`) with ``log g ~ U(log lo, log hi)``."""

    def __init__(self, prob: float = 0.5, gamma_range: Tuple[float, float] = (0.6, 1.6)) -> None:
        super().__init__(prob)
        self.gamma_range = gamma_range

    def apply(self, img: np.ndarray) -> np.ndarray:
        g = float(np.exp(np.random.uniform(*np.log(self.gamma_range))))
        return gamma_curve(img, g)


class FaceRandomGamma(BaseTransform):
    """FaRL's parsing gamma: one of g = 0.5 (sqrt), 1 (identity), 2 (square), uniformly, as a rounded uint8 LUT."""

    GAMMAS = {-1: 0.5, 1: 2.0}  # draw -> gamma; 0 leaves the image unchanged

    def transform(self, results: dict) -> dict:
        choice = int(np.random.choice([-1, 0, 1]))
        if choice != 0:
            lut = np.clip(np.round(gamma_curve(np.arange(256), self.GAMMAS[choice])), 0, 255).astype(np.uint8)
            img = results['img']
            if img.dtype != np.uint8:
                img = np.clip(img, 0, 255).astype(np.uint8)
            results['img'] = cv2.LUT(img, lut)
        return results


class RandomBlur(RandomApply):
    """Gaussian blur with ``sigma ~ U(0.1, max_sigma)``."""

    def __init__(self, prob: float = 0.3, max_sigma: float = 2.0) -> None:
        super().__init__(prob)
        self.max_sigma = max_sigma

    def apply(self, img: np.ndarray, sigma: Optional[float] = None) -> np.ndarray:
        sigma = np.random.uniform(0.1, self.max_sigma) if sigma is None else sigma
        return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma)


class FaceRandomBlur(BaseTransform):
    """FaRL's parsing blur: a box filter of ``mean(H, W) * U(0, max_ratio)`` pixels when that exceeds 1."""

    def __init__(self, max_ratio: float = 0.01) -> None:
        self.max_ratio = max_ratio

    def transform(self, results: dict) -> dict:
        img = results['img']
        k = int((img.shape[0] + img.shape[1]) / 2 * np.random.uniform(0.0, self.max_ratio))
        if k > 1:
            results['img'] = cv2.blur(img, (k, k))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(max_ratio={self.max_ratio})'


# What each plugin registers in its host's TRANSFORMS, under these class names.
PHOTOMETRIC_TRANSFORMS = (
    RandomOcclusion,
    NoiseBlend,
    RandomGray,
    RandomGamma,
    RandomBlur,
    FaceRandomGray,
    FaceRandomGamma,
    FaceRandomBlur,
)


def register_photometric_transforms(registry: Registry) -> None:
    """Register every class of :data:`PHOTOMETRIC_TRANSFORMS` in a host's ``TRANSFORMS`` under its class name."""
    for cls in PHOTOMETRIC_TRANSFORMS:
        if registry.module_dict.get(cls.__name__) is not cls:
            registry.register_module(module=cls)
