"""The checkpoint formats the bridge reads, one :class:`Format` entry each (detect + convert).

Every entry maps a loaded checkpoint onto mmpretrain ``VisionTransformer`` names (what ``FaceViT`` uses).
Detection tries the entries in the order of :data:`REGISTRY`; a new format is one more entry there.
"""

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

from torch import Tensor

from .io import CheckpointFormatError

BRANCHES = ('online', 'target')
StateDict = Dict[str, Tensor]

TIMM_RULES = [
    (r'^patch_embed\.proj\.', 'patch_embed.projection.'),
    (r'^blocks\.(\d+)\.norm1\.', r'layers.\1.ln1.'),
    (r'^blocks\.(\d+)\.norm2\.', r'layers.\1.ln2.'),
    (r'^blocks\.(\d+)\.attn\.', r'layers.\1.attn.'),
    (r'^blocks\.(\d+)\.mlp\.fc1\.', r'layers.\1.ffn.layers.0.0.'),
    (r'^blocks\.(\d+)\.mlp\.fc2\.', r'layers.\1.ffn.layers.1.'),
    (r'^norm\.', 'ln1.'),
    (r'^(cls_token|pos_embed)$', r'\1'),
]
CLIP_RULES = [
    (r'^conv1\.', 'patch_embed.projection.'),
    (r'^ln_pre\.', 'pre_norm.'),
    (r'^transformer\.resblocks\.(\d+)\.ln_1\.', r'layers.\1.ln1.'),
    (r'^transformer\.resblocks\.(\d+)\.ln_2\.', r'layers.\1.ln2.'),
    (r'^transformer\.resblocks\.(\d+)\.attn\.in_proj_', r'layers.\1.attn.qkv.'),
    (r'^transformer\.resblocks\.(\d+)\.attn\.out_proj\.', r'layers.\1.attn.proj.'),
    (r'^transformer\.resblocks\.(\d+)\.mlp\.c_fc\.', r'layers.\1.ffn.layers.0.0.'),
    (r'^transformer\.resblocks\.(\d+)\.mlp\.c_proj\.', r'layers.\1.ffn.layers.1.'),
    (r'^ln_post\.', 'ln1.'),
]


def tensors(d: dict) -> StateDict:
    """The tensor entries of a dict, in order."""
    return OrderedDict((k, v) for k, v in d.items() if isinstance(v, Tensor))


def strip_prefix(sd: StateDict, prefix: str) -> StateDict:
    """Entries under ``prefix``, with the prefix removed."""
    return OrderedDict((k[len(prefix) :], v) for k, v in sd.items() if k.startswith(prefix))


def rename(sd: StateDict, rules) -> Tuple[StateDict, List[str]]:
    """Apply the first matching (pattern, replacement) rule to each key; keys no rule matches are dropped."""
    out, dropped = OrderedDict(), []
    for key, value in sd.items():
        for pattern, repl in rules:
            if re.match(pattern, key):
                out[re.sub(pattern, repl, key)] = value
                break
        else:
            dropped.append(key)
    return out, dropped


def state_dict_of(ckpt: dict) -> dict:
    """The weights of a checkpoint: its ``state_dict`` or ``model`` entry, or the dict itself."""
    for key in ('state_dict', 'model'):
        if isinstance(ckpt.get(key), dict):
            return ckpt[key]
    return ckpt


def describe(sd: StateDict) -> str:
    """One line saying what kind of model a state dict that is not a supported ViT holds."""
    keys = list(sd)
    if not keys:
        return 'no tensors at all'
    hint = 'an unrecognised model'
    if any(re.search(r'(^|\.)layer[1-4]\.\d+\.', k) or '.downsample.' in k for k in keys):
        hint = 'a ResNet-style CNN (layer1..layer4 blocks), not a ViT'
    elif any('token_embedding' in k for k in keys) and not any(k.startswith('visual.') for k in keys):
        hint = 'a text-only transformer (CLIP text tower: token_embedding, no `visual.*` image encoder)'
    elif any(k.startswith(('encoder.layer.', 'bert.', 'embeddings.word_embeddings')) for k in keys):
        hint = 'a text-only BERT-style transformer, not an image encoder'
    return f'{hint}: {len(keys)} tensors, first keys {keys[:4]}'


def _keys(ckpt: dict) -> List[str]:
    sd = state_dict_of(ckpt)
    return list(sd) if isinstance(sd, dict) else []


def _model_keys(ckpt: dict) -> List[str]:
    return list(ckpt['model']) if isinstance(ckpt.get('model'), dict) else []


def _require(part: StateDict, name: str, prefix: str) -> StateDict:
    if not part:
        raise CheckpointFormatError(
            f'the {name} checkpoint has no tensors under {prefix!r}; choose the other '
            f'`branch` ({BRANCHES}) or check the file.'
        )
    return part


def _two_encoders(name: str, online: str, target: str, source: Callable[[dict], dict]):
    """Convert function of a checkpoint with an online and a target encoder in timm names under prefixes."""

    def convert(ckpt: dict, branch: str) -> Tuple[StateDict, List[str]]:
        prefix = online if branch == 'online' else target
        return rename(_require(strip_prefix(tensors(source(ckpt)), prefix), name, prefix), TIMM_RULES)

    return convert


def _mcf_mm(ckpt: dict, branch: str) -> Tuple[StateDict, List[str]]:
    prefix = 'backbone.' if branch == 'online' else 'target.backbone.'
    return _require(strip_prefix(tensors(state_dict_of(ckpt)), prefix), 'mcf_mm', prefix), []


def _mmpretrain(ckpt: dict, branch: str) -> Tuple[StateDict, List[str]]:
    sd = tensors(state_dict_of(ckpt))
    return (strip_prefix(sd, 'backbone.') if any(k.startswith('backbone.') for k in sd) else sd), []


def _model_or_state_dict(ckpt: dict) -> dict:
    """MAE / MCF training files keep the weights under 'model' (before any 'state_dict')."""
    return ckpt['model'] if isinstance(ckpt.get('model'), dict) else state_dict_of(ckpt)


def _timm(ckpt: dict, branch: str) -> Tuple[StateDict, List[str]]:
    sd = tensors(_model_or_state_dict(ckpt))
    if sd and all(k.startswith('module.') for k in sd):
        sd = strip_prefix(sd, 'module.')  # saved from a DistributedDataParallel wrapper
    return rename(sd, TIMM_RULES)


def _clip(ckpt: dict, branch: str) -> Tuple[StateDict, List[str]]:
    sd = tensors(state_dict_of(ckpt))
    if any(k.startswith('visual.') for k in sd):
        sd = strip_prefix(sd, 'visual.')
    out, dropped = rename(sd, CLIP_RULES)
    if 'class_embedding' in sd:
        out['cls_token'] = sd['class_embedding'].reshape(1, 1, -1)  # [D] -> [1, 1, D]
        dropped.remove('class_embedding')
    if 'positional_embedding' in sd:
        out['pos_embed'] = sd['positional_embedding'].unsqueeze(0)  # [T, D] -> [1, T, D]
        dropped.remove('positional_embedding')
    return out, dropped


def _is_clip(ckpt: dict) -> bool:
    keys = _keys(ckpt)
    if any(k.startswith('visual.layer1.') for k in keys):
        raise CheckpointFormatError(
            f'found a CLIP ResNet image encoder (ModifiedResNet, `visual.layer1.*`), not a CLIP ViT; '
            f'only ViT checkpoints load into FaceViT ({describe(tensors(state_dict_of(ckpt)))}).'
        )
    return any(k.startswith(('visual.conv1.', 'visual.transformer.')) for k in keys) or (
        any(k.startswith('conv1.') for k in keys) and any(k.startswith('transformer.resblocks.') for k in keys)
    )


def _is_mcf_mm(ckpt: dict) -> bool:
    meta = ckpt.get('meta') if isinstance(ckpt.get('meta'), dict) else {}
    return bool(meta.get('mcf_mm_algorithm')) or any(k.startswith('target.backbone.') for k in _keys(ckpt))


@dataclass(frozen=True)
class Format:
    """One checkpoint format: how to recognise it and how to map it onto mmpretrain ViT names.

    Attributes:
        name: the ``source`` name.
        summary: one line for the converter's format table (what files, which keys).
        detect: loaded checkpoint -> whether it is this format (may raise for a recognised near miss).
        convert: (loaded checkpoint, branch) -> (ViT state dict, keys of the file that were dropped).
        two_encoders: whether ``branch`` selects between two encoders in the file.
    """

    name: str
    summary: str
    detect: Callable[[dict], bool]
    convert: Callable[[dict, str], Tuple[StateDict, List[str]]]
    two_encoders: bool = False


REGISTRY: 'OrderedDict[str, Format]' = OrderedDict(
    (f.name, f)
    for f in [
        Format(
            'mcf',
            "original MCF code: {'model': {online_encoder.*, target_encoder.*}} (timm names)",
            lambda c: any(k.startswith('online_encoder.') for k in _model_keys(c)),
            _two_encoders('mcf', 'online_encoder.', 'target_encoder.', _model_or_state_dict),
            True,
        ),
        Format(
            'mocov3',
            "MoCo v3: {'state_dict': {module.base_encoder.*, module.momentum_encoder.*}}",
            lambda c: any(k.startswith('module.base_encoder.') for k in _keys(c)),
            _two_encoders('mocov3', 'module.base_encoder.', 'module.momentum_encoder.', state_dict_of),
            True,
        ),
        Format(
            'mcf_mm',
            "this toolbox's pre-training runs: backbone.* (online), target.backbone.* (EMA)",
            _is_mcf_mm,
            _mcf_mm,
            True,
        ),
        Format(
            'clip',
            'OpenAI CLIP / FaRL ViT image tower: visual.{conv1,transformer.resblocks,ln_post}.*',
            _is_clip,
            _clip,
        ),
        Format(
            'mmpretrain',
            'mmpretrain VisionTransformer: [backbone.]patch_embed.projection.*, layers.*',
            lambda c: any(
                k.startswith(('backbone.patch_embed.projection', 'patch_embed.projection')) for k in _keys(c)
            ),
            _mmpretrain,
        ),
        Format(
            'timm',
            "timm / MAE / DeiT ViT: blocks.*, patch_embed.proj.* (plain, {'model': ...}, module.*)",
            lambda c: any(
                k.startswith(('blocks.', 'patch_embed.proj.', 'module.blocks.', 'module.patch_embed.proj.'))
                for k in _model_keys(c) + _keys(c)
            ),
            _timm,
        ),
    ]
)
FORMATS = tuple(REGISTRY)


def detect_format(ckpt: dict) -> str:
    """Name the checkpoint format, or raise :class:`CheckpointFormatError` describing what was found."""
    for fmt in REGISTRY.values():
        if fmt.detect(ckpt):
            return fmt.name
    sd = state_dict_of(ckpt)
    raise CheckpointFormatError(
        f'unknown checkpoint format, found {describe(tensors(sd) if isinstance(sd, dict) else {})}; '
        f'supported formats are {FORMATS}. Convert it with tools/model_converters/convert.py or pass `source=`.'
    )


def to_vit_state_dict(ckpt: dict, source: str = 'auto', branch: str = 'online') -> Tuple[StateDict, str, List[str]]:
    """Map a loaded checkpoint to mmpretrain ViT keys.

    Args:
        ckpt: the loaded checkpoint dict.
        source: one of :data:`FORMATS` or 'auto'.
        branch: for MCF / mcf_mm / MoCo-v3 checkpoints, 'online' (base) or 'target' (EMA/momentum) encoder.
    Returns:
        (state_dict, format, keys of the backbone part that had no ViT counterpart and were dropped).
    """
    if branch not in BRANCHES:
        raise ValueError(f'branch={branch!r} is invalid; choose one of {BRANCHES}.')
    name = detect_format(ckpt) if source == 'auto' else source
    if name not in REGISTRY:
        raise ValueError(f'source={source!r} is invalid; choose one of {FORMATS} or "auto".')
    sd, dropped = REGISTRY[name].convert(ckpt, branch)
    return sd, name, dropped
