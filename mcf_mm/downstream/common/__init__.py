"""What the downstream plugins share: one image-geometry convention and one set of photometric transforms.

Host-neutral (no mmpose / mmseg imports): the alignment and parsing plugins register the transforms in their
own registries.
"""

from .geometry import (
    as_3x3,
    box_size,
    crop_matrix,
    crop_to_image,
    estimate_similarity,
    fit_image_matrix,
    hflip_matrix,
    invert_matrix,
    pixels_to_unit,
    similarity_matrix,
    transform_points,
    unit_to_pixels,
)
from .photometric import (
    PHOTOMETRIC_TRANSFORMS,
    FaceRandomBlur,
    FaceRandomGamma,
    FaceRandomGray,
    NoiseBlend,
    RandomApply,
    RandomBlur,
    RandomGamma,
    RandomGray,
    RandomOcclusion,
    gamma_curve,
    register_photometric_transforms,
    to_gray,
)

__all__ = [
    'as_3x3',
    'box_size',
    'crop_matrix',
    'crop_to_image',
    'estimate_similarity',
    'fit_image_matrix',
    'hflip_matrix',
    'invert_matrix',
    'pixels_to_unit',
    'similarity_matrix',
    'transform_points',
    'unit_to_pixels',
    'PHOTOMETRIC_TRANSFORMS',
    'RandomApply',
    'RandomOcclusion',
    'NoiseBlend',
    'RandomGray',
    'RandomGamma',
    'RandomBlur',
    'FaceRandomGray',
    'FaceRandomGamma',
    'FaceRandomBlur',
    'gamma_curve',
    'to_gray',
    'register_photometric_transforms',
]
