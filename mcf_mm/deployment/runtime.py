"""Run exported face models with onnxruntime; the geometry around the graph in numpy/OpenCV.

Alignment: the face box is cropped exactly as ``FaceBoxCrop`` at test time (``crop_matrix`` +
``cv2.warpAffine``), the graph returns crop-pixel points, and the inverse of the crop matrix maps them back.
Parsing: the image is aligned (``FaceAlign``: the whole image fitted into the canvas, or a 5-point similarity)
and tanh-warped (``RoITanhWarp``) onto the canvas; the graph returns canvas logits; they are put back on the
original image by bilinear sampling at each original pixel's warped position (zero outside the canvas, as
``grid_sample(padding_mode='zeros')`` in :func:`mcf_mm.downstream.parsing.warp.unwarp_logits`), then argmax.
"""

import json
import os.path as osp
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from mcf_mm.downstream.common.geometry import crop_matrix, crop_to_image, fit_image_matrix


def _read_meta(onnx_path: str, task: str) -> dict:
    path = osp.splitext(onnx_path)[0] + '.json'
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: export the model with tools/deployment/export_onnx.py')
    with open(path) as f:
        meta = json.load(f)
    if meta.get('task') != task:
        raise ValueError(f'{onnx_path} is a {meta.get("task")!r} model, not {task!r}')
    return meta


def _session(onnx_path: str, threads: Optional[int]):
    import onnxruntime as ort

    if not osp.isfile(onnx_path):
        raise FileNotFoundError(f'ONNX model not found: {onnx_path}')
    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_path, opts, providers=['CPUExecutionProvider'])


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, 'shape', None)
        raise ValueError(f'expected a BGR image [H, W, 3], got {type(image).__name__} of shape {shape}')
    return image


def to_blob(crops: Sequence[np.ndarray]) -> np.ndarray:
    """BGR crops [S, S, 3] -> float32 [N, 3, S, S] (the graph input, 0-255)."""
    return np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2), dtype=np.float32)


def bilinear_sample(maps: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Sample maps [C, h, w] at pixel positions xy [H, W, 2] (x, y), bilinear, zero outside: [C, H, W]."""
    c, h, w = maps.shape
    x, y = xy[..., 0], xy[..., 1]
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    out = np.zeros((c,) + x.shape, dtype=np.float64)
    for dx in (0, 1):
        for dy in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            wgt = (1 - np.abs(x - xi)) * (1 - np.abs(y - yi))  # [H, W]
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            vals = maps[:, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]  # [C, H, W]
            out += np.where(inside, wgt, 0.0) * vals
    return out


class OnnxLandmarker:
    """Face landmarks from an exported alignment model: ``predict(image, box) -> (points [K, 2], scores [K])``."""

    def __init__(self, onnx_path: str, threads: Optional[int] = None) -> None:
        self.meta = _read_meta(onnx_path, 'alignment')
        self.session = _session(onnx_path, threads)

    def preprocess(self, image: np.ndarray, box: Optional[Sequence[float]] = None) -> Tuple[np.ndarray, np.ndarray]:
        """The crop [S, S, 3] and its 2x3 matrix (image -> crop); ``box=None`` = the whole image."""
        image = _check_image(image)
        if box is None:
            box = [0.0, 0.0, float(image.shape[1]), float(image.shape[0])]
        s = self.meta['input_size']
        m = crop_matrix(box, s, self.meta['face_scale'], box_mode=self.meta['box_mode'])
        crop = cv2.warpAffine(image, m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return crop, m

    def run(self, crops: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Graph on a blob [N, 3, S, S]: crop-pixel keypoints [N, K, 2], scores [N, K]."""
        keypoints, scores = self.session.run(None, {'crop': crops})
        return keypoints, scores

    def predict(self, image: np.ndarray, box: Optional[Sequence[float]] = None) -> Tuple[np.ndarray, np.ndarray]:
        crop, m = self.preprocess(image, box)
        keypoints, scores = self.run(to_blob([crop]))
        return crop_to_image(keypoints[0], m), scores[0]


class OnnxFaceParser:
    """Face parsing from an exported model: ``predict(image, landmarks=None) -> (label [H, W], logits [C, H, W])``."""

    def __init__(self, onnx_path: str, threads: Optional[int] = None) -> None:
        self.meta = _read_meta(onnx_path, 'parsing')
        self.session = _session(onnx_path, threads)
        self.canvas_shape = tuple(self.meta['canvas_shape'])

    def align_matrix(self, image: np.ndarray, landmarks: Optional[np.ndarray] = None) -> np.ndarray:
        """3x3 original -> aligned canvas, as ``FaceAlign``."""
        from mcf_mm.downstream.parsing.warp import align_matrix_from_landmarks

        if self.meta['align_source'] == 'image':
            return fit_image_matrix(image.shape[:2], self.canvas_shape)
        if landmarks is None:
            raise ValueError('this model aligns the face by 5 landmarks: pass landmarks=[[x, y], ...]')
        pts = np.asarray(landmarks, np.float64)
        if self.meta['landmark_indices'] is not None and len(pts) != 5:
            pts = pts[self.meta['landmark_indices']]
        if pts.shape != (5, 2):
            raise ValueError(f'expected 5 landmarks (eyes, nose tip, mouth corners) [5, 2], got {pts.shape}')
        return align_matrix_from_landmarks(pts, self.canvas_shape, self.meta['face_scale'])

    def preprocess(self, image: np.ndarray, landmarks: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """The warped canvas [S, S, 3] and the 3x3 alignment matrix."""
        from mcf_mm.downstream.parsing.warp import warp_image

        image = _check_image(image)
        m = self.align_matrix(image, landmarks)
        canvas = warp_image(
            image, m, self.meta['warp_factor'], self.canvas_shape, 'bilinear', 0, self.meta['warp_convention']
        )
        return canvas, m

    def postprocess(self, logits: np.ndarray, matrix: np.ndarray, ori_shape: Sequence[int]) -> np.ndarray:
        """Canvas logits [C, S, S] -> logits on the original image [C, H, W] (the inverse of the warp)."""
        from mcf_mm.downstream.parsing.warp import original_to_warped

        h, w = ori_shape[:2]
        ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing='ij')
        pos = original_to_warped(
            np.stack([xs, ys], -1), matrix, self.meta['warp_factor'], self.canvas_shape, self.meta['warp_convention']
        )  # [H, W, 2] canvas pixels
        return bilinear_sample(logits.astype(np.float64), pos).astype(np.float32)

    def run(self, canvases: np.ndarray) -> np.ndarray:
        """Graph on a blob [N, 3, S, S]: canvas logits [N, C, S, S]."""
        return self.session.run(None, {'crop': canvases})[0]

    def predict(self, image: np.ndarray, landmarks: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        canvas, m = self.preprocess(image, landmarks)
        logits = self.postprocess(self.run(to_blob([canvas]))[0], m, image.shape)
        return logits.argmax(0).astype(np.uint8), logits
