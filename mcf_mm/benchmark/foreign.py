"""Write a backbone under foreign key names (timm's ViT names), to check the reader path end to end.

    python -m mcf_mm.benchmark.foreign SRC.pth DST.pth

The inverse of the checkpoint reader's timm rules (``mcf_mm/checkpoint/formats.py``): mmpretrain
``patch_embed.projection`` -> ``patch_embed.proj``, ``layers.i.{ln1, ln2, attn, ffn.layers.0.0, ffn.layers.1}``
-> ``blocks.i.{norm1, norm2, attn, mlp.fc1, mlp.fc2}``, final ``ln1`` -> ``norm``; saved as ``{'model': ...}``
(MAE's layout) without any meta (no head count, no normalisation: the reader must infer them).
"""

import argparse
import re
from collections import OrderedDict
from typing import Dict

from torch import Tensor

from mcf_mm.checkpoint import atomic_save, read_checkpoint, to_vit_state_dict

_LAYER = [('ln1.', 'norm1.'), ('ln2.', 'norm2.'), ('ffn.layers.0.0.', 'mlp.fc1.'), ('ffn.layers.1.', 'mlp.fc2.')]


def to_timm_names(sd: Dict[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """mmpretrain ViT names -> timm names (keys without a timm counterpart, e.g. ``pre_norm``, are refused)."""
    out = OrderedDict()
    for key, value in sd.items():
        m = re.match(r'layers\.(\d+)\.(.*)', key)
        if m:
            i, rest = m.groups()
            for a, b in _LAYER:
                if rest.startswith(a):
                    rest = b + rest[len(a) :]
                    break
            new = f'blocks.{i}.{rest}'
        elif key.startswith('patch_embed.projection.'):
            new = 'patch_embed.proj.' + key[len('patch_embed.projection.') :]
        elif key.startswith('ln1.'):
            new = 'norm.' + key[len('ln1.') :]
        elif key in ('cls_token', 'pos_embed'):
            new = key
        else:
            raise ValueError(f'{key!r} has no timm name (a CLIP-style ViT? write CLIP names instead).')
        out[new] = value.contiguous().clone()
    return out


def save_as_timm(src: str, dst: str) -> int:
    """Read ``src`` (any format the reader knows, online branch) and write its ViT in timm names to ``dst``."""
    sd, _, _ = to_vit_state_dict(read_checkpoint(src))
    atomic_save({'model': to_timm_names(sd)}, dst)
    return len(sd)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('src')
    p.add_argument('dst')
    args = p.parse_args()
    print(f'wrote {save_as_timm(args.src, args.dst)} tensors in timm names to {args.dst}')


if __name__ == '__main__':
    main()
