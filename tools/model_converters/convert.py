"""Convert a checkpoint of any supported format for mcf_mm (one entry point for every format).

    python tools/model_converters/convert.py SRC DST [--source auto] [--branch online|target] [--num-heads H]
    python tools/model_converters/convert.py SRC DST --source farl          # FaRL/CLIP, both towers
    python tools/model_converters/convert.py SRC DST --trust-pickle [--extract-backbone]   # your own old file

A ViT format gives a backbone checkpoint (``{'state_dict': {'backbone.*'}, 'meta': {'vit_kwargs': ...}}``) that
FaceViT's ``init_cfg=dict(type='Pretrained', checkpoint=DST)`` loads; ``--source farl`` gives a checkpoint of
mcf_mm's FaRL algorithm (backbone, visual_proj, text_encoder, logit_scale). Inputs are read without running
code from them. ``--trust-pickle`` is the one exception, for files you trust only: it fully unpickles SRC
(an older mcf_mm run with mmengine/numpy objects, a TorchScript CLIP release) and re-saves it in plain form.
"""

import argparse
import os.path as osp
from typing import List, Optional

from mcf_mm.checkpoint import (
    BRANCHES,
    REGISTRY,
    atomic_save,
    backbone_checkpoint,
    convert_checkpoint,
    convert_farl_checkpoint,
)
from mcf_mm.checkpoint.convert import read_trusted_as_plain, resave_trusted
from mcf_mm.utils.cli import run_cli

FARL = ('farl', "FaRL / CLIP release with both towers -> checkpoint of mcf_mm's FaRL algorithm")


def format_table() -> str:
    """The ``--source`` choices with what each reads (from the format registry)."""
    rows = [('auto', 'detect the format from the keys (default)')]
    rows += [(f.name, f.summary + (' [--branch]' if f.two_encoders else '')) for f in REGISTRY.values()]
    rows.append(FARL)
    return '\n'.join(f'  {name:<11} {text}' for name, text in rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='formats (--source):\n' + format_table(),
    )
    parser.add_argument('src', help='input checkpoint')
    parser.add_argument('dst', help='output checkpoint (.pth); written atomically')
    parser.add_argument(
        '--source',
        default='auto',
        choices=['auto', *REGISTRY, FARL[0]],
        metavar='FORMAT',
        help='input format (table below)',
    )
    parser.add_argument(
        '--branch',
        choices=BRANCHES,
        default='online',
        help='which encoder of a two-encoder checkpoint (MCF online/target, MoCo-v3 base/momentum)',
    )
    parser.add_argument('--num-heads', type=int, default=None, help='attention heads if not width // 64')
    parser.add_argument(
        '--extract-backbone',
        action='store_true',
        help='write the backbone checkpoint (what a ViT format gives anyway); with --trust-pickle, '
        'extract it from the re-saved file instead of keeping the whole checkpoint',
    )
    parser.add_argument(
        '--trust-pickle',
        action='store_true',
        help='UNSAFE, for your own files only: fully unpickle SRC (runs any code in it) and write '
        'a plain copy (or its backbone with --extract-backbone)',
    )
    return parser


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the conversion; returns the written meta (backbone) or checkpoint (farl / --trust-pickle)."""
    args = build_parser().parse_args(argv)
    if args.source == FARL[0]:
        if args.trust_pickle or args.extract_backbone:
            raise SystemExit('--source farl converts both towers; for the image tower alone use --source clip.')
        return convert_farl_checkpoint(args.src, args.dst)
    if not args.trust_pickle:
        return convert_checkpoint(args.src, args.dst, args.source, args.branch, args.num_heads)
    if not args.extract_backbone:
        return resave_trusted(args.src, args.dst)
    plain = read_trusted_as_plain(args.src)
    out = backbone_checkpoint(plain, args.source, args.branch, args.num_heads, osp.basename(args.src))
    atomic_save(out, args.dst)
    print(f'Extracted {len(out["state_dict"])} backbone tensors to {args.dst}.')
    return out['meta']


if __name__ == '__main__':
    run_cli(main)
