"""mmpose plugin for face alignment with the FaRL/MCF protocol.

Import it through ``custom_imports=dict(imports=['mcf_mm', 'mcf_mm.downstream.alignment'])``: it registers the codec,
transforms, neck, head, losses, estimator, datasets and metric into mmpose's registries.
"""
import mcf_mm  # noqa: F401  (environment fixes before mmseg/mmpose models are imported)

from .codec import FaRLHeatmapCodec, gaussian_heatmaps, soft_argmax
from .datasets import AFLW19MatDataset, Face300WCSVDataset, Helen29MatDataset, WFLWCSVDataset, landmark_metainfo
from .estimator import FaceLandmarkEstimator
from .geometry import crop_matrix, crop_to_image, invert_matrix, transform_points
from .head import UPerHeatmapHead
from .losses import MeanPointDistanceLoss, UpsampledHeatmapBCELoss
from .metrics import FaceAlignmentMetric, ced_auc_fr, face_nme, normalizing_distance
from .neck import FacePyramidNeck
from .transforms import FaceBoxCrop, NoiseBlend, RandomBlur, RandomGamma, RandomGray, RandomOcclusion

__all__ = [
    'FaRLHeatmapCodec', 'gaussian_heatmaps', 'soft_argmax', 'AFLW19MatDataset', 'Face300WCSVDataset',
    'Helen29MatDataset', 'WFLWCSVDataset', 'landmark_metainfo', 'FaceLandmarkEstimator', 'crop_matrix',
    'crop_to_image', 'invert_matrix', 'transform_points', 'UPerHeatmapHead', 'MeanPointDistanceLoss',
    'UpsampledHeatmapBCELoss', 'FaceAlignmentMetric', 'ced_auc_fr', 'face_nme', 'normalizing_distance',
    'FacePyramidNeck', 'FaceBoxCrop', 'NoiseBlend', 'RandomBlur', 'RandomGamma', 'RandomGray', 'RandomOcclusion',
]
