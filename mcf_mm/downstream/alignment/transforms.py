"""Data transforms of the FaRL alignment protocol (mmpose TRANSFORMS): box crop with random similarity, and the
shared photometric augmentations (:mod:`mcf_mm.downstream.common.photometric`) registered here for mmpose.
No flip (it would need left/right landmark swapping)."""

from typing import Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmpose.registry import TRANSFORMS

from ..common.geometry import BOX_MODES, crop_matrix, transform_points
from ..common.photometric import register_photometric_transforms

register_photometric_transforms(TRANSFORMS)

ZOOM_MODES = ('relative', 'additive')


@TRANSFORMS.register_module()
class FaceBoxCrop(BaseTransform):
    """Warp the face box to an ``input_size``² crop; optionally with FaRL's random similarity.

    Reads ``img``, ``bbox`` [1, 4] (x1, y1, x2, y2) and, if present, ``keypoints`` [1, K, 2]. Writes the
    crop ``img``, ``transformed_keypoints``, ``crop_matrix`` (2x3, image -> crop, inverted exactly at
    test time) and mmpose's ``input_size`` / ``input_center`` / ``input_scale``.

    Args:
        input_size: crop side (512).
        face_scale: fraction of the crop covered by the box (1.0 AFLW-19, 0.8 300W/WFLW).
        rotate: max |angle| in degrees, uniform (10); 0 = deterministic.
        shift: max |shift| as a fraction of the crop side, uniform per axis (0.05).
        scale: zoom range (0.1), drawn by ``zoom_mode``.
        box_mode: 'square' (default): the box's longer side fills ``face_scale`` of the crop, aspect kept;
            'stretch' (FaRL's training code): each axis of the box mapped onto the crop independently, then
            zoomed by ``face_scale`` (set by the AFLW-19 / 300W / WFLW reproduction bases).
        zoom_mode: 'relative' (default): total zoom ``face_scale * U(1 - scale, 1 + scale)``;
            'additive' (FaRL's): ``U(face_scale - scale, face_scale + scale)``.
    """

    def __init__(
        self,
        input_size: int = 512,
        face_scale: float = 1.0,
        rotate: float = 0.0,
        shift: float = 0.0,
        scale: float = 0.0,
        box_mode: str = 'square',
        zoom_mode: str = 'relative',
    ) -> None:
        if box_mode not in BOX_MODES:
            raise ValueError(f'FaceBoxCrop box_mode must be one of {BOX_MODES}, got {box_mode!r}')
        if zoom_mode not in ZOOM_MODES:
            raise ValueError(f'FaceBoxCrop zoom_mode must be one of {ZOOM_MODES}, got {zoom_mode!r}')
        lowest = face_scale - scale if zoom_mode == 'additive' else face_scale * (1 - scale)
        if face_scale <= 0 or lowest <= 0:
            raise ValueError(
                f'FaceBoxCrop: face_scale={face_scale} with scale={scale} ({zoom_mode}) allows a zoom <= 0; '
                'use a smaller scale.'
            )
        self.input_size = int(input_size)
        self.face_scale = float(face_scale)
        self.rotate, self.shift, self.scale = float(rotate), float(shift), float(scale)
        self.box_mode, self.zoom_mode = box_mode, zoom_mode

    def _sample(self) -> Tuple[float, float, Tuple[float, float]]:
        """(angle, zoom relative to face_scale, shift) of one draw."""
        angle = np.random.uniform(-self.rotate, self.rotate) if self.rotate > 0 else 0.0
        zoom = 1.0
        if self.scale > 0 and self.zoom_mode == 'additive':
            zoom = np.random.uniform(self.face_scale - self.scale, self.face_scale + self.scale) / self.face_scale
        elif self.scale > 0:
            zoom = np.random.uniform(1 - self.scale, 1 + self.scale)
        shift = tuple(np.random.uniform(-self.shift, self.shift, size=2)) if self.shift > 0 else (0.0, 0.0)
        return angle, zoom, shift

    def transform(self, results: dict) -> dict:
        if 'bbox' not in results:
            raise KeyError(
                'FaceBoxCrop needs results["bbox"] ([1, 4] x1, y1, x2, y2); give a face box or '
                'use the whole image as the box.'
            )
        box = np.asarray(results['bbox'], dtype=np.float64).reshape(-1, 4)[0]
        angle, zoom, shift = self._sample()
        m = crop_matrix(box, self.input_size, self.face_scale, angle, zoom, shift, self.box_mode)  # [2, 3]
        s = self.input_size
        results['img'] = cv2.warpAffine(
            results['img'], m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        if results.get('keypoints') is not None:
            results['transformed_keypoints'] = transform_points(results['keypoints'], m).astype(np.float32)
        results['crop_matrix'] = m
        results['img_shape'] = (s, s)
        results['input_size'] = (s, s)
        results['input_center'] = ((box[:2] + box[2:]) / 2).astype(np.float32)
        wh = box[2:] - box[:2]
        side = wh if self.box_mode == 'stretch' else np.full(2, wh.max())
        results['input_scale'] = (side / self.face_scale).astype(np.float32)  # image pixels across the crop
        return results
