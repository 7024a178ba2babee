from .face_vit import FACE_VIT_ARCHS, SINCOS_LAYOUTS, FaceViT, check_mask_ratio, sincos_pos_embed
from .text_transformer import CLIPTextTransformer

__all__ = ['FACE_VIT_ARCHS', 'SINCOS_LAYOUTS', 'FaceViT', 'check_mask_ratio', 'sincos_pos_embed', 'CLIPTextTransformer']
