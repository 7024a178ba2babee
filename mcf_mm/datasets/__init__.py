"""Pre-training data for MCF and FaRL: image folder / list / LMDB, image-text tar shards, text tokenizer."""

from .decode import ImageDecodeError, decode_image
from .face_crop import crop_face
from .face_image import FaceImageDataset, SkimageFaceDataset
from .file_io import read_regular_file
from .image_text_tar import ImageTextTarDataset, TokenizeText, expand_shards
from .skip_counter import SkipCounter
from .tokenizer import BPETokenizer, get_tokenizer

__all__ = [
    'FaceImageDataset',
    'ImageDecodeError',
    'SkimageFaceDataset',
    'crop_face',
    'decode_image',
    'ImageTextTarDataset',
    'TokenizeText',
    'expand_shards',
    'BPETokenizer',
    'get_tokenizer',
    'SkipCounter',
    'read_regular_file',
]
