"""MCF heads: feature distillation (the frozen-teacher MIM loss) and the contrastive head (MoCo-v3's)."""

from typing import Sequence, Tuple

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

    ``loss(q, k) = CE(normalize(predictor(q)) · normalize(k_all)ᵀ / τ, arange(N) + N·rank) · 2τ · loss_weight``
    (mmpretrain's ``CrossEntropyLoss`` with ``loss_weight=2τ·loss_weight``). The only addition is the fp32
    cast of the predictor output and of the keys, which the former implementation applied under AMP.

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
        """online_proj [N, C] (projector output), target_keys [N, C] (target projector output, this process)."""
        return super().loss(online_proj, target_keys.float())
