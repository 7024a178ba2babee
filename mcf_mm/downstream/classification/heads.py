"""Heads of the face classification plugin: ``FaceRegressionHead`` for continuous targets (age, head pose), and
``RegressionLoss`` (L1 / smooth L1 / L2; mmpretrain and mmengine register no regression loss)."""

from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.structures import DataSample
from torch import nn

from mcf_mm.registry import MODELS


def _as_vector(value: Union[float, Sequence[float], None], size: int, name: str) -> Optional[torch.Tensor]:
    """``value`` as a float tensor [size] (a scalar is repeated), or None."""
    if value is None:
        return None
    vec = torch.as_tensor(value, dtype=torch.float32).flatten()
    if vec.numel() == 1:
        vec = vec.repeat(size)
    if vec.numel() != size:
        raise ValueError(f'FaceRegressionHead: {name} has {vec.numel()} values, num_outputs is {size}.')
    return vec


@MODELS.register_module()
class RegressionLoss(nn.Module):
    """Mean over all N x D elements of an element-wise regression loss, times ``loss_weight``.

    Args:
        criterion: 'l1' (|d|), 'smooth_l1' (torch's, with ``beta``) or 'l2' (d ** 2).
        beta: the smooth-L1 threshold.
        loss_weight: factor on the loss.
    """

    CRITERIA = ('l1', 'smooth_l1', 'l2')

    def __init__(self, criterion: str = 'l1', beta: float = 1.0, loss_weight: float = 1.0) -> None:
        super().__init__()
        if criterion not in self.CRITERIA:
            raise ValueError(f'RegressionLoss: criterion={criterion!r} is not one of {self.CRITERIA}.')
        self.criterion, self.beta, self.loss_weight = criterion, beta, loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor, **kwargs) -> torch.Tensor:
        """``pred``, ``target``: [N, D]; extra keywords (``avg_factor``) are ignored: the mean is over N x D."""
        if self.criterion == 'l1':
            loss = F.l1_loss(pred, target)
        elif self.criterion == 'smooth_l1':
            loss = F.smooth_l1_loss(pred, target, beta=self.beta)
        else:
            loss = F.mse_loss(pred, target)
        return self.loss_weight * loss


@MODELS.register_module()
class FaceRegressionHead(BaseModule):
    """Linear regression head in mmpretrain's ``ClsHead`` form (``loss(feats, data_samples)``,
    ``predict(feats, data_samples)``), for ``ImageClassifier``.

    Targets are each data sample's ``gt_value`` (float [D], packed with
    ``dict(type='PackInputs', algorithm_keys=('gt_value',))``); predict() writes ``pred_value`` (tensor [D]).
    With ``target_mean``/``target_std`` the linear layer predicts the standardised target
    ``(y - mean) / std``; the loss is computed there, and predictions are mapped back
    (``mean + std * output``).

    Args:
        in_channels: feature size of the last backbone (or neck) output.
        num_outputs: D, the number of regressed values.
        loss: a loss config (any registered loss called as ``loss(pred [N, D], target [N, D], avg_factor=N)``)
            or module; default :class:`RegressionLoss` L1 (mean absolute error over N x D).
        target_mean, target_std: scalar or D values; both or neither.
        init_cfg: mmengine init config (default: normal(0, 0.01) weights, zero bias for the Linear layer).
    """

    def __init__(
        self,
        in_channels: int,
        num_outputs: int = 1,
        loss: dict = dict(type='RegressionLoss', criterion='l1'),
        target_mean: Union[float, Sequence[float], None] = None,
        target_std: Union[float, Sequence[float], None] = None,
        init_cfg: Optional[dict] = dict(type='Normal', layer='Linear', std=0.01),
    ) -> None:
        super().__init__(init_cfg=init_cfg)
        if in_channels <= 0 or num_outputs <= 0:
            raise ValueError(
                f'FaceRegressionHead needs in_channels > 0 and num_outputs > 0, got {in_channels}, {num_outputs}.'
            )
        if (target_mean is None) != (target_std is None):
            raise ValueError('FaceRegressionHead: set both target_mean and target_std, or neither.')
        self.in_channels, self.num_outputs = in_channels, num_outputs
        mean = _as_vector(target_mean, num_outputs, 'target_mean')
        std = _as_vector(target_std, num_outputs, 'target_std')
        if std is not None and not bool((std > 0).all()):
            raise ValueError(f'FaceRegressionHead: target_std must be > 0, got {std.tolist()}.')
        self.standardise = mean is not None
        # Buffers (not parameters): saved in checkpoints, moved with .to(), never trained.
        self.register_buffer('target_mean', mean if mean is not None else torch.zeros(num_outputs), persistent=True)
        self.register_buffer('target_std', std if std is not None else torch.ones(num_outputs), persistent=True)
        self.loss_module = loss if isinstance(loss, nn.Module) else MODELS.build(loss)
        self.fc = nn.Linear(in_channels, num_outputs)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The last stage's feature [N, C]."""
        return feats[-1]

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """Raw (standardised, when enabled) outputs [N, D]."""
        x = self.pre_logits(feats)
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'FaceRegressionHead expects features [N, {self.in_channels}], got {tuple(x.shape)}; pool the '
                "backbone (e.g. FaceViT out_type='avg_featmap' or 'cls_token') or fix in_channels."
            )
        return self.fc(x)

    def targets(self, data_samples: List[DataSample], device: torch.device) -> torch.Tensor:
        """``gt_value`` of every sample stacked as [N, D] float32."""
        if not data_samples or 'gt_value' not in data_samples[0]:
            raise KeyError(
                'FaceRegressionHead needs `gt_value` on every data sample: pack it with '
                "dict(type='PackInputs', algorithm_keys=('gt_value',)) in the pipeline."
            )
        values = [torch.as_tensor(np.asarray(s.gt_value), dtype=torch.float32).flatten() for s in data_samples]
        target = torch.stack(values).to(device)  # [N, D]
        if target.shape[1] != self.num_outputs:
            raise ValueError(f'gt_value has {target.shape[1]} values per sample, num_outputs is {self.num_outputs}.')
        return target

    def loss(self, feats: Tuple[torch.Tensor], data_samples: List[DataSample], **kwargs) -> dict:
        """{'loss': loss between outputs and (standardised) targets}."""
        out = self(feats)  # [N, D]
        target = self.targets(data_samples, out.device)
        if self.standardise:
            target = (target - self.target_mean) / self.target_std
        return dict(loss=self.loss_module(out, target, avg_factor=out.size(0), **kwargs))

    def predict(
        self, feats: Tuple[torch.Tensor], data_samples: Optional[List[Optional[DataSample]]] = None
    ) -> List[DataSample]:
        """Data samples with ``pred_value`` [D] in target units (de-standardised)."""
        out = self(feats).detach()
        pred = out * self.target_std + self.target_mean if self.standardise else out  # [N, D]
        if data_samples is None:
            data_samples = [None] * pred.size(0)
        results = []
        for sample, value in zip(data_samples, pred):
            sample = DataSample() if sample is None else sample
            sample.set_field(value, 'pred_value')
            results.append(sample)
        return results
