"""Losses of the FaRL alignment protocol (mmpose MODELS)."""

from typing import Optional

import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class UpsampledHeatmapBCELoss(nn.Module):
    """BCE-with-logits between logits bilinearly upsampled to the target size and Gaussian targets.

    Args:
        loss_weight: multiplier (1.0 in the protocol).
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """logits [N, K, h, w] (112²), target [N, K, H, W] (128², values in [0, 1])."""
        if logits.shape[:2] != target.shape[:2]:
            raise ValueError(
                f'logits {tuple(logits.shape)} and targets {tuple(target.shape)} disagree on '
                'batch size or keypoint count; check num_keypoints of the head.'
            )
        up = F.interpolate(logits, size=target.shape[-2:], mode='bilinear', align_corners=False)
        return self.loss_weight * F.binary_cross_entropy_with_logits(up, target)


@MODELS.register_module()
class MeanPointDistanceLoss(nn.Module):
    """Mean Euclidean distance between predicted and target points (normalised crop coordinates).

    Args:
        loss_weight: multiplier (1.0 in the protocol).
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None) -> Tensor:
        """pred, target [N, K, 2]; weight [N, K] (optional, FaRL uses none)."""
        dist = (pred - target).norm(dim=-1)  # [N, K]
        if weight is not None:
            return self.loss_weight * (dist * weight).sum() / weight.sum().clamp_min(1e-6)
        return self.loss_weight * dist.mean()
