from .decode import ImageDecodeError, decode_image
from .face_crop import crop_face
from .face_image import FaceImageDataset, SkimageFaceDataset

__all__ = ['FaceImageDataset', 'ImageDecodeError', 'SkimageFaceDataset', 'crop_face', 'decode_image']
