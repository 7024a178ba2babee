from .image_text_contrastive import ImageTextContrastiveLoss
from .mcf_losses import NORM_DIMS, feature_distill_loss

__all__ = ['NORM_DIMS', 'feature_distill_loss', 'ImageTextContrastiveLoss']
