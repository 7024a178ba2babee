"""MCF heads: feature distillation (the frozen-teacher MIM loss) and the contrastive head."""
from typing import Sequence

from mmengine.model import BaseModule
from torch import Tensor

from mcf_mm.models.losses import NORM_DIMS, feature_distill_loss, info_nce
from mcf_mm.models.necks import ProjectionMLP
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


@MODELS.register_module()
class ContrastivePredictionHead(BaseModule):
    """Predictor + MoCo-v3 InfoNCE between online projections and target keys.

    Args:
        predictor: config of the predictor MLP (MCF: 256 -> 4096 -> 256, no last BN).
        temperature: τ (MCF: 0.2); the loss is scaled by 2τ.
        loss_weight: multiplier (MCF: 1).
    """

    def __init__(self, predictor: dict, temperature: float = 0.2, loss_weight: float = 1.0,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        if temperature <= 0:
            raise ValueError(f'temperature={temperature} must be > 0.')
        self.predictor = MODELS.build(predictor) if predictor.get('type') else ProjectionMLP(**predictor)
        self.temperature = temperature
        self.loss_weight = loss_weight

    def loss(self, online_proj: Tensor, target_keys: Tensor) -> Tensor:
        """online_proj [N, C] (projector output), target_keys [N, C] (target projector output)."""
        return self.loss_weight * info_nce(self.predictor(online_proj), target_keys, self.temperature)
