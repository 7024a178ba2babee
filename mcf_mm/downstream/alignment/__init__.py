"""mmpose plugin for face alignment with the FaRL/MCF protocol.

Import it through ``custom_imports=dict(imports=['mcf_mm', 'mcf_mm.downstream.alignment'])``: it registers the codec,
transforms (the face box crop and the shared photometric ones of :mod:`mcf_mm.downstream.common`), head, losses,
estimator, datasets and metric into mmpose's registries. The pyramid neck is mmseg's, used cross-scope
(``type='mmseg.Feature2Pyramid'``).
"""

from .codec import FaRLHeatmapCodec, gaussian_heatmaps, soft_argmax
from .datasets import AFLW19MatDataset, Face300WCSVDataset, Helen29MatDataset, WFLWCSVDataset, landmark_metainfo
from .estimator import FaceLandmarkEstimator
from .head import UPerHeatmapHead
from .losses import MeanPointDistanceLoss, UpsampledHeatmapBCELoss
from .metrics import FaceAlignmentMetric, ced_auc_fr, face_nme, normalizing_distance
from .transforms import FaceBoxCrop

__all__ = [
    'FaRLHeatmapCodec',
    'gaussian_heatmaps',
    'soft_argmax',
    'AFLW19MatDataset',
    'Face300WCSVDataset',
    'Helen29MatDataset',
    'WFLWCSVDataset',
    'landmark_metainfo',
    'FaceLandmarkEstimator',
    'UPerHeatmapHead',
    'MeanPointDistanceLoss',
    'UpsampledHeatmapBCELoss',
    'FaceAlignmentMetric',
    'ced_auc_fr',
    'face_nme',
    'normalizing_distance',
    'FaceBoxCrop',
]
