"""Face detection for in-the-wild inference: a small detector interface, MTCNN behind it, and the mapping of a
detector's box onto each model's training box convention (measured per dataset in :mod:`.box_convention`)."""

from .base import DETECTORS, Face, FaceDetector, build_detector
from .box_convention import BOX_MAPPINGS, BoxMapping, box_mapping_for, fit_box_mapping
from .mtcnn import MTCNNDetector

__all__ = [
    'BOX_MAPPINGS',
    'DETECTORS',
    'BoxMapping',
    'Face',
    'FaceDetector',
    'MTCNNDetector',
    'box_mapping_for',
    'build_detector',
    'fit_box_mapping',
]
