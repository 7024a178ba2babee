"""mmpretrain plugin for face classification and regression: expression, attributes, anti-spoofing, age,
gender and race, head pose.

Import it through ``custom_imports=dict(imports=['mcf_mm', 'mcf_mm.downstream.classification'])``: it registers
the datasets, transforms, heads, samplers and metrics into mcf_mm's registries (children of mmpretrain's, so
mmpretrain's own classifiers, heads and metrics resolve in the same configs).
"""

from .datasets import (
    AffectNetDataset,
    AntiSpoofingDataset,
    CelebAAttrDataset,
    HeadPoseMatDataset,
    LoadVideoFrame,
    RAFDBDataset,
    UTKFaceDataset,
)
from .heads import FaceRegressionHead, RegressionLoss
from .metrics import AntiSpoofingMetric, MeanAttributeAccuracy, RegressionMAE
from .samplers import ClassBalancedSampler
from .transforms import CropFaceBox

__all__ = [
    'AffectNetDataset',
    'AntiSpoofingDataset',
    'AntiSpoofingMetric',
    'CelebAAttrDataset',
    'ClassBalancedSampler',
    'CropFaceBox',
    'FaceRegressionHead',
    'HeadPoseMatDataset',
    'LoadVideoFrame',
    'MeanAttributeAccuracy',
    'RAFDBDataset',
    'RegressionLoss',
    'RegressionMAE',
    'UTKFaceDataset',
]
