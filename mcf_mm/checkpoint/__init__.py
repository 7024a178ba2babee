"""The checkpoint bridge: read checkpoints safely, recognise their format and map them onto the face ViT.

``io`` (safe reading, atomic writing), ``formats`` (one entry per format: detect + convert), ``arch``
(FaceViT arguments from weights), ``loader`` (loading with a report; refusal of another model's checkpoint),
``convert`` (conversions written to disk; the CLI is ``tools/model_converters/convert.py``). The one unsafe
reader, for a user's own trusted files, is not exported: ``convert.read_trusted_as_plain`` (``--trust-pickle``).
"""

from .arch import CLIP_MEAN, CLIP_STD, clip_style_vit_kwargs, infer_vit_arch, is_clip_style
from .convert import backbone_checkpoint, clip_to_farl_state_dict, convert_checkpoint, convert_farl_checkpoint
from .formats import BRANCHES, FORMATS, REGISTRY, Format, detect_format, to_vit_state_dict
from .io import CheckpointFormatError, UnsafeCheckpointError, atomic_save, read_checkpoint, to_plain, unsafe_globals
from .loader import CheckpointMismatchError, check_fits, describe_checkpoint, load_model_weights, load_vit_weights

__all__ = [
    'BRANCHES',
    'CLIP_MEAN',
    'CLIP_STD',
    'FORMATS',
    'REGISTRY',
    'CheckpointFormatError',
    'CheckpointMismatchError',
    'check_fits',
    'Format',
    'UnsafeCheckpointError',
    'atomic_save',
    'backbone_checkpoint',
    'clip_style_vit_kwargs',
    'clip_to_farl_state_dict',
    'convert_checkpoint',
    'convert_farl_checkpoint',
    'describe_checkpoint',
    'detect_format',
    'infer_vit_arch',
    'is_clip_style',
    'load_model_weights',
    'load_vit_weights',
    'read_checkpoint',
    'to_plain',
    'to_vit_state_dict',
    'unsafe_globals',
]
