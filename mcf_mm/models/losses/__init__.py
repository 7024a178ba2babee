from .image_text_contrastive import ImageTextContrastiveLoss
from .mcf_losses import NORM_DIMS, feature_distill_loss, gather_keys, info_nce

__all__ = ['NORM_DIMS', 'feature_distill_loss', 'gather_keys', 'info_nce', 'ImageTextContrastiveLoss']
