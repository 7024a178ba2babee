"""mmseg data transforms for face parsing: alignment, RoI tanh warp, geometric augmentation, packing; the shared
photometric augmentations (:mod:`mcf_mm.downstream.common.photometric`) are registered here for mmseg.

A pipeline builds one 3x3 ``warp_matrix`` (original image -> aligned canvas) step by step
(:class:`FaceAlign`, then optionally :class:`RandomFaceAffine` / :class:`RandomFaceHFlip`), and
:class:`RoITanhWarp` samples the image (and in training the label map) once through it. The matrix, the
warp factor and the canvas shape travel in the sample's metainfo, so the segmentor can put the logits back
on the original image (:class:`~mcf_mm.downstream.parsing.segmentor.FaceParsingEncoderDecoder`).
"""

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS

from ..common.geometry import fit_image_matrix, hflip_matrix, similarity_matrix
from ..common.photometric import register_photometric_transforms
from .warp import WARP_CONVENTIONS, align_matrix_from_landmarks, warp_image

register_photometric_transforms(TRANSFORMS)

WARP_META_KEYS = ('warp_matrix', 'warp_factor', 'canvas_shape', 'warp_convention')


def _canvas(size) -> Tuple[int, int]:
    if isinstance(size, int):
        return (size, size)
    if len(size) != 2:
        raise ValueError(f'canvas_size must be an int or (H, W), got {size!r}')
    return (int(size[0]), int(size[1]))


def _require_matrix(results: dict, name: str) -> np.ndarray:
    if 'warp_matrix' not in results:
        raise KeyError(f'{name} needs `warp_matrix` in the sample: put FaceAlign before it in the pipeline.')
    return results['warp_matrix']


@TRANSFORMS.register_module()
class FaceAlign(BaseTransform):
    """Start the warp: a similarity from the original image to an aligned square canvas.

    Args:
        canvas_size: canvas (H, W) or one int (FaRL: 512).
        source: 'landmarks' (5-point similarity to the FaRL template, from ``results['face_landmarks']``)
            or 'image' (the whole image fitted, centred and aspect kept, into the canvas).
        landmark_indices: which rows of ``face_landmarks`` are left eye, right eye, nose, left and right
            mouth corner (LaPa 106-point: (104, 105, 54, 84, 90)); None = the landmarks are those five.
        face_scale: template scale inside the canvas (FaRL: 1.0 for LaPa).
    """

    def __init__(
        self,
        canvas_size=512,
        source: str = 'landmarks',
        landmark_indices: Optional[Sequence[int]] = None,
        face_scale: float = 1.0,
    ) -> None:
        if source not in ('landmarks', 'image'):
            raise ValueError(f"FaceAlign source must be 'landmarks' or 'image', got {source!r}")
        self.canvas_shape = _canvas(canvas_size)
        self.source = source
        self.landmark_indices = None if landmark_indices is None else list(landmark_indices)
        self.face_scale = face_scale

    def transform(self, results: dict) -> dict:
        if self.source == 'landmarks':
            if 'face_landmarks' not in results:
                raise KeyError(
                    "FaceAlign(source='landmarks') needs `face_landmarks` in the sample (LaPa "
                    "datasets provide them); use source='image' for datasets without landmarks."
                )
            pts = np.asarray(results['face_landmarks'], np.float64)  # [K, 2]
            if self.landmark_indices is not None:
                pts = pts[self.landmark_indices]
            if pts.shape != (5, 2):
                raise ValueError(
                    f'FaceAlign needs 5 points, got {pts.shape}; set landmark_indices to pick '
                    'eyes, nose and mouth corners.'
                )
            matrix = align_matrix_from_landmarks(pts, self.canvas_shape, self.face_scale)
        else:
            matrix = fit_image_matrix(results['img'].shape[:2], self.canvas_shape)
        results['warp_matrix'] = matrix
        results['canvas_shape'] = self.canvas_shape
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(canvas_shape={self.canvas_shape}, source={self.source!r}, '
            f'landmark_indices={self.landmark_indices}, face_scale={self.face_scale})'
        )


@TRANSFORMS.register_module()
class RandomFaceAffine(BaseTransform):
    """FaRL's geometric augmentation, composed into the warp matrix about the canvas centre.

    Args:
        rotate_std: rotation ~ N(0, rotate_std) degrees, a positive draw turning the face clockwise on screen
            (FaRL: 18, i.e. 0.314 rad).
        scale_std: scale ~ N(1, scale_std) (FaRL: 0.1).
        shift: shift ~ U(-shift, shift) x min(canvas H, W) per axis (FaRL: 0.01).
    """

    def __init__(self, rotate_std: float = 18.0, scale_std: float = 0.1, shift: float = 0.01) -> None:
        self.rotate_std, self.scale_std, self.shift = rotate_std, scale_std, shift

    def transform(self, results: dict) -> dict:
        matrix = _require_matrix(results, 'RandomFaceAffine')
        canvas = results['canvas_shape']
        angle = np.random.normal(0.0, self.rotate_std)
        scale = np.random.normal(1.0, self.scale_std)
        shift = np.random.uniform(-self.shift, self.shift, size=2) * min(canvas)
        centre = np.array([(canvas[1] - 1) / 2.0, (canvas[0] - 1) / 2.0])  # (x, y)
        results['warp_matrix'] = similarity_matrix(-angle, scale, centre, centre + shift) @ matrix
        return results


@TRANSFORMS.register_module()
class RandomFaceHFlip(BaseTransform):
    """Horizontal flip composed into the warp matrix; left/right classes of the label map are swapped.

    Args:
        prob: flip probability (the FaRL recipe uses no flip).
        swap_pairs: label-id pairs exchanged on flip, e.g. LaPa ((2, 3), (4, 5)).
    """

    def __init__(self, prob: float = 0.5, swap_pairs: Sequence[Sequence[int]] = ()) -> None:
        self.prob = prob
        self.swap_pairs = [tuple(p) for p in swap_pairs]

    def transform(self, results: dict) -> dict:
        matrix = _require_matrix(results, 'RandomFaceHFlip')
        if np.random.rand() >= self.prob:
            return results
        results['warp_matrix'] = hflip_matrix(results['canvas_shape'][1]) @ matrix
        if 'gt_seg_map' in results:
            seg = results['gt_seg_map']
            swapped = seg.copy()
            for a, b in self.swap_pairs:
                swapped[seg == a] = b
                swapped[seg == b] = a
            results['gt_seg_map'] = swapped
        return results


@TRANSFORMS.register_module()
class RoITanhWarp(BaseTransform):
    """Sample the image (bilinear) and, in training, the label map (nearest) through the warp matrix.

    Args:
        warp_factor: separable tanh warp factor (LaPa: 0.8; CelebAMask-HQ: 0 = affine only).
        warp_label: also warp ``gt_seg_map``. Train: True. Test: False, so the metric sees the
            original label image while the network sees the warped crop.
        label_pad_val: label value outside the image (FaRL pads with 0 = background).
        convention: pixel <-> normalised coordinates of the warp. 'pixel_centre' (default): n = (u + 0.5) / W * 2 - 1;
            'farl': n = u / W * 2 - 1 and back u = (n + 1) / 2 * W, as FaRL's training code (set by the LaPa and
            CelebAMask-HQ reproduction bases). Stored in the metainfo so the logits are warped back the same way.
    """

    def __init__(
        self,
        warp_factor: float = 0.8,
        warp_label: bool = True,
        label_pad_val: int = 0,
        convention: str = 'pixel_centre',
    ) -> None:
        if not 0.0 <= warp_factor < 1.0:
            raise ValueError(f'warp_factor must lie in [0, 1), got {warp_factor}')
        if convention not in WARP_CONVENTIONS:
            raise ValueError(f'RoITanhWarp convention must be one of {WARP_CONVENTIONS}, got {convention!r}')
        self.warp_factor = float(warp_factor)
        self.warp_label = warp_label
        self.label_pad_val = label_pad_val
        self.convention = convention

    def transform(self, results: dict) -> dict:
        matrix = _require_matrix(results, 'RoITanhWarp')
        canvas = results['canvas_shape']
        conv = self.convention
        results['img'] = warp_image(results['img'], matrix, self.warp_factor, canvas, 'bilinear', 0, conv)
        results['img_shape'] = tuple(canvas)
        if self.warp_label and 'gt_seg_map' in results:
            results['gt_seg_map'] = warp_image(
                results['gt_seg_map'], matrix, self.warp_factor, canvas, 'nearest', self.label_pad_val, conv
            )
        results['warp_factor'] = self.warp_factor
        results['warp_convention'] = conv
        return results

    def __repr__(self) -> str:
        return (
            f'{self.__class__.__name__}(warp_factor={self.warp_factor}, warp_label={self.warp_label}, '
            f'convention={self.convention!r})'
        )


@TRANSFORMS.register_module()
class ResizeImageToLabel(BaseTransform):
    """Resize the image (bilinear) to the label map's size and make that the original shape.

    CelebAMask-HQ ships 1024-px images with 512-px labels; the protocol evaluates at 512. Without a label
    map (inference) the transform does nothing.
    """

    def transform(self, results: dict) -> dict:
        if 'gt_seg_map' not in results:
            return results
        h, w = results['gt_seg_map'].shape[:2]
        if results['img'].shape[:2] != (h, w):
            results['img'] = cv2.resize(results['img'], (w, h), interpolation=cv2.INTER_LINEAR)
        results['ori_shape'] = results['img_shape'] = (h, w)
        return results


@TRANSFORMS.register_module()
class PackFaceSegInputs(PackSegInputs):
    """mmseg's PackSegInputs that also packs the warp metainfo the segmentor needs to un-warp logits."""

    def __init__(
        self,
        meta_keys: Sequence[str] = (
            'img_path',
            'seg_map_path',
            'ori_shape',
            'img_shape',
            'pad_shape',
            'scale_factor',
            'flip',
            'flip_direction',
            'reduce_zero_label',
        )
        + WARP_META_KEYS,
    ) -> None:
        super().__init__(meta_keys=tuple(meta_keys))
