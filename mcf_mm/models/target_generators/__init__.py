from .visual_tokenizer import PatchKMeansEncoder, VisualTokenizer, fit_patch_kmeans
from .vit_teacher import IMAGENET_MEAN, IMAGENET_STD, FrozenViTTeacher

__all__ = [
    'IMAGENET_MEAN',
    'IMAGENET_STD',
    'FrozenViTTeacher',
    'PatchKMeansEncoder',
    'VisualTokenizer',
    'fit_patch_kmeans',
]
