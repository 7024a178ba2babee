"""MCF's feature-distillation loss on normalised teacher features (the contrastive loss is mmpretrain's
MoCoV3Head, see ``ContrastivePredictionHead``)."""

from typing import Sequence

import torch.nn.functional as F
from torch import Tensor

NORM_DIMS = {'token': 1, 'channel': -1}


def feature_distill_loss(
    pred_feats: Sequence[Tensor], target_feats: Sequence[Tensor], norm_dim: str = 'token'
) -> Tensor:
    """Sum over layers of MSE between L2-normalised features; targets are detached.

    Args:
        pred_feats / target_feats: per layer [N, T, D] (teacher on pseudo / on real image).
        norm_dim: 'token' normalises along the token axis per channel (dim 1, the original MCF code);
            'channel' normalises each token's feature vector (dim -1).
    """
    if norm_dim not in NORM_DIMS:
        raise ValueError(f'norm_dim={norm_dim!r} is invalid; choose one of {tuple(NORM_DIMS)}.')
    dim = NORM_DIMS[norm_dim]
    loss = pred_feats[0].new_zeros(())
    for p, t in zip(pred_feats, target_feats):
        loss = loss + F.mse_loss(F.normalize(p.float(), dim=dim), F.normalize(t.detach().float(), dim=dim))
    return loss
