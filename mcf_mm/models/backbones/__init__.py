from .face_vit import FACE_VIT_ARCHS, FaceViT, check_mask_ratio
from .text_transformer import CLIPTextTransformer

__all__ = ['FACE_VIT_ARCHS', 'FaceViT', 'check_mask_ratio', 'CLIPTextTransformer']
