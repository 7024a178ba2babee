from .face_vit import FACE_VIT_ARCHS, FaceViT, check_mask_ratio

__all__ = ['FACE_VIT_ARCHS', 'FaceViT', 'check_mask_ratio']
