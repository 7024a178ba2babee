"""mmseg plugin for face parsing (load with ``custom_imports=dict(imports=['mcf_mm', 'mcf_mm.downstream.parsing'])``).

Registers into mmseg's registries: LaPa / CelebAMask-HQ / FASSEG datasets, face alignment + RoI tanh warp
transforms and the shared photometric augmentations (:mod:`mcf_mm.downstream.common`), an EncoderDecoder that
un-warps logits before the argmax, the face F1 metric (background excluded) and a test-drawing hook.
"""

from .celebamask_hq import (
    CELEBAMASK_HQ_CLASSES,
    CELEBAMASK_HQ_PAINT_ORDER,
    celebamask_hq_split,
    paint_celebamask_hq_label,
)
from .datasets import FASSEG_CLASSES, LAPA_CLASSES, CelebAMaskHQDataset, FASSEGDataset, LaPaDataset, read_lapa_landmarks
from .metrics import FaceF1Metric, confusion_matrix, f1_from_confusion
from .segmentor import FaceParsingEncoderDecoder
from .transforms import FaceAlign, PackFaceSegInputs, RandomFaceAffine, RandomFaceHFlip, ResizeImageToLabel, RoITanhWarp
from .visualization import FaceSegVisualizationHook
from .warp import (
    LAPA_5PT_INDICES,
    align_matrix_from_landmarks,
    original_to_warped,
    unwarp_logits,
    warp_image,
    warped_to_original,
)

__all__ = [
    'FaceSegVisualizationHook',
    'LAPA_CLASSES',
    'CELEBAMASK_HQ_CLASSES',
    'CELEBAMASK_HQ_PAINT_ORDER',
    'FASSEG_CLASSES',
    'LaPaDataset',
    'CelebAMaskHQDataset',
    'FASSEGDataset',
    'celebamask_hq_split',
    'paint_celebamask_hq_label',
    'read_lapa_landmarks',
    'FaceF1Metric',
    'confusion_matrix',
    'f1_from_confusion',
    'FaceParsingEncoderDecoder',
    'FaceAlign',
    'RandomFaceAffine',
    'RandomFaceHFlip',
    'RoITanhWarp',
    'ResizeImageToLabel',
    'PackFaceSegInputs',
    'LAPA_5PT_INDICES',
    'align_matrix_from_landmarks',
    'original_to_warped',
    'warped_to_original',
    'warp_image',
    'unwarp_logits',
]
