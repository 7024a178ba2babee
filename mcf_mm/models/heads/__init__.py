from .mcf_heads import ContrastivePredictionHead, FeatureDistillHead

__all__ = ['ContrastivePredictionHead', 'FeatureDistillHead']
