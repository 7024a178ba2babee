"""FaRL heatmap codec: truncated-Gaussian targets on a coarse map, soft-argmax decoding.

Coordinates are normalised on the input crop as ``u = (p + 0.5) / S`` (``p``: crop pixel with integer
pixel centres, ``S``: crop side; the convention of :mod:`mcf_mm.downstream.common.geometry`), so heatmap
cell ``j`` of a map of width ``W`` sits at ``u = (j + 0.5) / W`` whatever the map size: FaRL's decoding
convention, shared here by the 112² output and the 128² targets.
"""

from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmpose.codecs.base import BaseKeypointCodec
from mmpose.registry import KEYPOINT_CODECS
from torch import Tensor

from ..common.geometry import pixels_to_unit, unit_to_pixels


def _pair(v: Union[int, Sequence[int]]) -> Tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, (int, np.integer)) else (int(v[0]), int(v[1]))


def soft_argmax(probs: Tensor) -> Tensor:
    """Probability-weighted mean cell position over the whole map (no softmax), normalised to [0, 1].

    Args:
        probs: non-negative maps [N, K, H, W] (sigmoid outputs).
    Returns:
        normalised (x, y) [N, K, 2] with cell ``j`` at ``(j + 0.5) / W``.
    """
    n, k, h, w = probs.shape
    xs = (torch.arange(w, dtype=probs.dtype, device=probs.device) + 0.5) / w  # [W]
    ys = (torch.arange(h, dtype=probs.dtype, device=probs.device) + 0.5) / h  # [H]
    total = probs.sum(dim=(2, 3)).clamp_min(torch.finfo(probs.dtype).tiny)  # [N, K]
    x = (probs.sum(dim=2) * xs).sum(dim=-1) / total  # [N, K]
    y = (probs.sum(dim=3) * ys).sum(dim=-1) / total  # [N, K]
    return torch.stack([x, y], dim=-1)  # [N, K, 2]


def gaussian_heatmaps(points: np.ndarray, size: Tuple[int, int], sigma: float, radius: float) -> np.ndarray:
    """Max-combined truncated Gaussians (peak 1) for normalised points.

    Args:
        points: normalised (x, y) [N, K, 2] (N instances, combined by max per keypoint).
        size: heatmap (W, H).
        sigma: Gaussian std in heatmap pixels.
        radius: cells farther than this (heatmap pixels) from the point are 0.
    Returns:
        float32 heatmaps [K, H, W].
    """
    w, h = size
    pts = np.asarray(points, dtype=np.float64)  # [N, K, 2]
    cx = pts[..., 0] * w - 0.5  # [N, K] in heatmap cell coordinates
    cy = pts[..., 1] * h - 0.5
    gx = np.arange(w, dtype=np.float64)
    gy = np.arange(h, dtype=np.float64)
    dx2 = (gx[None, None, None, :] - cx[..., None, None]) ** 2  # [N, K, 1, W]
    dy2 = (gy[None, None, :, None] - cy[..., None, None]) ** 2  # [N, K, H, 1]
    d2 = dx2 + dy2  # [N, K, H, W]
    maps = np.exp(-d2 / (2.0 * sigma**2))
    maps[d2 > radius**2] = 0.0
    return maps.max(axis=0).astype(np.float32)  # [K, H, W]


@KEYPOINT_CODECS.register_module()
class FaRLHeatmapCodec(BaseKeypointCodec):
    """Encode crop keypoints to Gaussian heatmaps + normalised labels; decode maps by soft-argmax.

    Args:
        input_size: crop (W, H) in pixels (512 in the protocol).
        heatmap_size: target map (W, H) (128 in the protocol; the network predicts 112 and the loss
            upsamples its logits to this size).
        sigma: Gaussian std in target-map pixels (1.25).
        radius: truncation radius in target-map pixels (5).
    """

    label_mapping_table = dict(keypoint_labels='keypoint_labels', keypoint_weights='keypoint_weights')
    field_mapping_table = dict(heatmaps='heatmaps')

    def __init__(
        self,
        input_size: Union[int, Sequence[int]] = 512,
        heatmap_size: Union[int, Sequence[int]] = 128,
        sigma: float = 1.25,
        radius: float = 5.0,
    ) -> None:
        super().__init__()
        self.input_size = _pair(input_size)
        self.heatmap_size = _pair(heatmap_size)
        if sigma <= 0 or radius <= 0:
            raise ValueError(f'sigma ({sigma}) and radius ({radius}) must be positive.')
        self.sigma, self.radius = float(sigma), float(radius)

    def normalize(self, keypoints: np.ndarray) -> np.ndarray:
        """Crop pixels [..., 2] -> normalised coordinates."""
        return pixels_to_unit(keypoints, self.input_size)

    def denormalize(self, coords: np.ndarray) -> np.ndarray:
        """Normalised coordinates [..., 2] -> crop pixels."""
        return unit_to_pixels(coords, self.input_size)

    def encode(self, keypoints: np.ndarray, keypoints_visible: Optional[np.ndarray] = None) -> dict:
        """Args: keypoints [N, K, 2] in crop pixels; keypoints_visible [N, K] (ignored by FaRL's loss).

        Returns:
            dict of heatmaps [K, H, W], keypoint_labels [N, K, 2] (normalised), keypoint_weights [N, K] (1).
        """
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
            raise ValueError(f'keypoints must have shape [N, K, 2], got {keypoints.shape}.')
        labels = self.normalize(keypoints)  # [N, K, 2]
        heatmaps = gaussian_heatmaps(labels, self.heatmap_size, self.sigma, self.radius)  # [K, H, W]
        weights = np.ones(keypoints.shape[:2], dtype=np.float32)  # [N, K]
        return dict(heatmaps=heatmaps, keypoint_labels=labels.astype(np.float32), keypoint_weights=weights)

    def decode(self, encoded: np.ndarray, is_logits: bool = True) -> Tuple[np.ndarray, np.ndarray]:
        """Soft-argmax of maps [K, H, W] (any size) -> keypoints [1, K, 2] in crop pixels, scores [1, K].

        Args:
            encoded: heatmap logits (``is_logits=True``, sigmoid applied) or probabilities.
        """
        maps = torch.as_tensor(np.asarray(encoded), dtype=torch.float64)[None]  # [1, K, H, W]
        probs = maps.sigmoid() if is_logits else maps
        coords = soft_argmax(probs)[0].numpy()  # [K, 2]
        scores = probs.flatten(2).amax(dim=-1)[0].numpy()  # [K]
        return self.denormalize(coords)[None], scores[None]
