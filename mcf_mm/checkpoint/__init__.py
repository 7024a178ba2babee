"""The checkpoint bridge: read any supported pre-training checkpoint and map it onto the face ViT."""
from .bridge import (BRANCHES, CLIP_MEAN, CLIP_STD, FORMATS, CheckpointFormatError, clip_style_vit_kwargs,
                     clip_to_farl_state_dict, convert_checkpoint, converter_cli, detect_format, infer_vit_arch,
                     is_clip_style, load_vit_weights, read_checkpoint, to_vit_state_dict)

__all__ = [
    'BRANCHES', 'CLIP_MEAN', 'CLIP_STD', 'FORMATS', 'CheckpointFormatError', 'clip_style_vit_kwargs',
    'clip_to_farl_state_dict', 'convert_checkpoint', 'converter_cli', 'detect_format', 'infer_vit_arch',
    'is_clip_style', 'load_vit_weights', 'read_checkpoint', 'to_vit_state_dict'
]
