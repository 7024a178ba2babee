from .vit_teacher import IMAGENET_MEAN, IMAGENET_STD, FrozenViTTeacher

__all__ = ['IMAGENET_MEAN', 'IMAGENET_STD', 'FrozenViTTeacher']
