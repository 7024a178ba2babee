"""Loss functions of MCF: feature distillation on normalised teacher features and MoCo-v3 InfoNCE."""
from typing import Sequence

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_rank, get_world_size
from torch import Tensor

NORM_DIMS = {'token': 1, 'channel': -1}


def feature_distill_loss(pred_feats: Sequence[Tensor], target_feats: Sequence[Tensor],
                         norm_dim: str = 'token') -> Tensor:
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


def gather_keys(k: Tensor) -> Tensor:
    """Concatenate ``k`` [N, C] from every process in rank order (no gradient)."""
    if get_world_size() == 1:
        return k
    return torch.cat(all_gather(k.detach().contiguous()), dim=0)


def info_nce(q: Tensor, k: Tensor, temperature: float) -> Tensor:
    """MoCo-v3 contrastive loss: CE(q·k_allᵀ/τ, arange(N) + N·rank) × 2τ.

    Args:
        q: online predictions [N, C]; k: target keys [N, C] of this process (gathered here).
    """
    q = F.normalize(q.float(), dim=1)
    k_all = F.normalize(gather_keys(k).float(), dim=1)  # [N * world, C]
    logits = q @ k_all.t() / temperature  # [N, N * world]
    labels = torch.arange(q.shape[0], device=q.device) + q.shape[0] * get_rank()
    return F.cross_entropy(logits, labels) * (2 * temperature)
