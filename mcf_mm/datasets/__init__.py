"""Pre-training data for MCF and FaRL: image folder / list / LMDB, image-text tar shards, text tokenizer."""

from .collate import drop_bad_collate
from .decode import ImageDecodeError, decode_image
from .face_crop import crop_face
from .face_image import FaceImageDataset, SkimageFaceDataset
from .face_shards import FaceShardDataset, select_faces
from .file_io import read_regular_file
from .image_text_tar import ImageTextTarDataset, TokenizeText, expand_shards
from .sample_seed import SampleSeededDataset, sample_seeds
from .shard_sampler import ShardSampler
from .shard_writer import ShardWriter
from .skip_counter import SkipCounter
from .tar_index import index_tar, iter_tar_members, read_span
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
    'FaceShardDataset',
    'select_faces',
    'ShardWriter',
    'index_tar',
    'iter_tar_members',
    'read_span',
    'drop_bad_collate',
    'ShardSampler',
    'SampleSeededDataset',
    'sample_seeds',
]
