"""The detector interface: ``FaceDetector.detect(img) -> List[Face]``, and a registry to plug detectors in."""

from dataclasses import dataclass
from typing import List, Optional

import numpy as np
from mmengine.registry import Registry

DETECTORS = Registry('face detector', scope='mcf_mm')


@dataclass
class Face:
    """One detected face in image pixels (OpenCV convention: pixel centres at integers).

    Attributes:
        box: float64 [4] (x1, y1, x2, y2) as the detector gives it (its own box convention).
        score: detector confidence in [0, 1].
        landmarks: float64 [5, 2] (x, y) of image-left eye, image-right eye, nose tip, image-left and
            image-right mouth corner (the order of FaRL's alignment template), or None.
    """

    box: np.ndarray
    score: float
    landmarks: Optional[np.ndarray] = None

    def to_dict(self) -> dict:
        out = dict(box=[float(v) for v in self.box], score=float(self.score))
        if self.landmarks is not None:
            out['landmarks5'] = np.asarray(self.landmarks, np.float64).round(2).tolist()
        return out


def check_bgr_image(img) -> np.ndarray:
    """Return ``img`` if it is a uint8 BGR array [H, W, 3]; otherwise raise a ValueError naming the fix."""
    if not isinstance(img, np.ndarray):
        raise TypeError(f'an image must be a numpy array [H, W, 3] (BGR, uint8), got {type(img).__name__}')
    if img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1):
        raise ValueError(
            f'got a grey image of shape {img.shape}; the models take colour: pass '
            'cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) (an image file is converted when read)'
        )
    if img.ndim == 3 and img.shape[2] == 4:
        raise ValueError(
            f'got a 4-channel (BGRA/RGBA) image of shape {img.shape}; drop the alpha channel: pass '
            'cv2.cvtColor(img, cv2.COLOR_BGRA2BGR) (an image file is converted when read)'
        )
    if img.ndim != 3 or img.shape[2] != 3 or img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f'an image must be [H, W, 3] (BGR), got shape {img.shape}')
    if img.dtype != np.uint8:
        raise ValueError(f'an image must be uint8 (0-255), got {img.dtype}; pass img.astype(np.uint8)')
    return img


class FaceDetector:
    """Base class: a subclass implements :meth:`_detect` on a checked BGR uint8 image; ``name`` keys its
    measured box mappings (:data:`mcf_mm.detection.BOX_MAPPINGS`)."""

    name = ''

    def detect(self, img: np.ndarray) -> List[Face]:
        """Faces in a BGR uint8 image [H, W, 3], highest score first."""
        faces = self._detect(check_bgr_image(img))
        return sorted(faces, key=lambda f: -f.score)

    def _detect(self, img: np.ndarray) -> List[Face]:
        raise NotImplementedError


def build_detector(cfg) -> FaceDetector:
    """A detector from a registry name (``'mtcnn'``), a config dict (``dict(type='mtcnn', min_score=0.95)``)
    or an object that already has ``detect``."""
    if hasattr(cfg, 'detect'):
        return cfg
    if isinstance(cfg, str):
        cfg = dict(type=cfg)
    if cfg.get('type') not in DETECTORS.module_dict:
        raise KeyError(f'unknown face detector {cfg.get("type")!r}; registered: {sorted(DETECTORS.module_dict)}')
    return DETECTORS.build(cfg)
