from .farl_mim_head import FaRLMIMHead
from .mcf_heads import ContrastivePredictionHead, FeatureDistillHead

__all__ = ['ContrastivePredictionHead', 'FeatureDistillHead', 'FaRLMIMHead']
