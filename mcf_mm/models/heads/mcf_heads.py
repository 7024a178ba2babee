"""MCF heads: feature distillation (the frozen-teacher MIM loss) and the contrastive head (MoCo-v3's)."""

from typing import Sequence, Tuple

import torch
from mmengine.dist import all_gather, get_rank, get_world_size
from mmengine.model import BaseModule
from mmpretrain.models.heads import MoCoV3Head
from torch import Tensor, nn

from mcf_mm.models.losses import NORM_DIMS, feature_distill_loss
from mcf_mm.registry import MODELS


@MODELS.register_module()
class FeatureDistillHead(BaseModule):
    """Compare teacher features of the pseudo image with those of the real image.

    Args:
        norm_dim: 'token' (faithful to the MCF code) or 'channel'.
        loss_weight: multiplier (MCF: 1000).
    """

    def __init__(self, norm_dim: str = 'token', loss_weight: float = 1000.0, init_cfg=None) -> None:
        super().__init__(init_cfg)
        if norm_dim not in NORM_DIMS:
            raise ValueError(f'norm_dim={norm_dim!r} is invalid; choose one of {tuple(NORM_DIMS)}.')
        self.norm_dim = norm_dim
        self.loss_weight = loss_weight

    def loss(self, pseudo_feats: Sequence[Tensor], real_feats: Sequence[Tensor]) -> Tensor:
        return self.loss_weight * feature_distill_loss(pseudo_feats, real_feats, self.norm_dim)


def _float_output(module: nn.Module, args: tuple, output: Tuple[Tensor, ...]) -> Tuple[Tensor, ...]:
    """Forward hook: the predictor's outputs in fp32, so that under AMP the loss normalises in fp32."""
    return tuple(o.float() for o in output)


@MODELS.register_module()
class ContrastivePredictionHead(MoCoV3Head):
    """mmpretrain's MoCoV3Head: predictor + InfoNCE against the keys of all processes, × 2τ.

    ``loss(q, k) = CE(normalize(predictor(q)) · normalize(k_all)ᵀ / τ, arange(n) + n_0 + … + n_{rank-1}) · 2τ ·
    loss_weight`` (mmpretrain's ``CrossEntropyLoss`` with ``loss_weight=2τ·loss_weight``), where ``k_all`` is the
    concatenation of every process's keys in rank order. Two additions to MoCoV3Head: the fp32 cast of the
    predictor output and of the keys (the former implementation applied it under AMP), and batches of different
    sizes per process (``drop_bad_collate`` shrinks a batch by its unreadable samples): the keys are padded to the
    largest batch for the gather and cut back, and the labels are offset by the sizes of the lower ranks. With equal
    sizes this is MoCoV3Head's loss.

    Args:
        predictor: config of the predictor (MCF: ProjectionMLP 256 -> 4096 -> 256, no last BN); without
            ``type`` it is a :class:`ProjectionMLP`.
        temperature: τ (MCF: 0.2); the loss is scaled by 2τ.
        loss_weight: multiplier (MCF: 1).
    """

    def __init__(self, predictor: dict, temperature: float = 0.2, loss_weight: float = 1.0, init_cfg=None) -> None:
        if temperature <= 0:
            raise ValueError(f'temperature={temperature} must be > 0.')
        predictor = dict(predictor)
        kind = predictor.pop('type', 'ProjectionMLP')
        # MoCoV3Head builds with mmpretrain's registry: name our scope so ProjectionMLP resolves without one set
        predictor['type'] = kind if not isinstance(kind, str) or '.' in kind else f'mcf_mm.{kind}'
        super().__init__(
            predictor=predictor,
            temperature=temperature,
            loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=2 * temperature * loss_weight),
        )
        if init_cfg is not None:
            self.init_cfg = init_cfg
        self.loss_weight = loss_weight
        self.predictor.register_forward_hook(_float_output)

    def loss(self, online_proj: Tensor, target_keys: Tensor) -> Tensor:
        """online_proj [n, C] (projector output), target_keys [n, C] (target projector output, this process);
        n may differ between processes."""
        pred = nn.functional.normalize(self.predictor([online_proj])[0], dim=1)  # [n, C] fp32
        keys = nn.functional.normalize(target_keys.float(), dim=1)  # [n, C]
        keys, offset = gather_uneven(keys)  # [sum n, C]
        logits = torch.einsum('nc,mc->nm', [pred, keys]) / self.temperature  # [n, sum n]
        labels = torch.arange(len(pred), dtype=torch.long, device=pred.device) + offset  # [n]
        return self.loss_module(logits, labels)


def gather_uneven(x: Tensor) -> Tuple[Tensor, int]:
    """Concatenate every process's ``x`` ([n_r, ...], n_r may differ) in rank order (as mmengine's
    ``all_gather``: without gradient across processes; one process returns ``x`` itself).

    Returns:
        the concatenation [sum n_r, ...] and this process's offset in it (n_0 + … + n_{rank-1}).
    """
    if get_world_size() == 1:
        return x, 0
    sizes = [int(n) for n in torch.cat(all_gather(torch.tensor([len(x)], device=x.device)))]  # [world]
    padded = torch.cat([x, x.new_zeros((max(sizes) - len(x), *x.shape[1:]))])  # [max n, ...]
    parts = all_gather(padded.detach())
    return torch.cat([part[:n] for part, n in zip(parts, sizes)]), sum(sizes[: get_rank()])
