"""Extract the backbone of an mcf_mm pre-training checkpoint into a plain, weights-only checkpoint.

The output holds ``state_dict`` (mmpretrain ViT names, no prefix) and ``meta``; it loads with
``torch.load(..., weights_only=True)``, into ``FaceViT(init_cfg=dict(type='Pretrained', checkpoint=OUT))``
and into mmpose/mmseg configs. Only run it on checkpoints you trust (your own training runs): training
checkpoints contain pickled Python objects.

    python tools/extract_backbone.py work_dirs/demo/mcf/epoch_15.pth backbone.pth [--branch target]
"""
import argparse
import io
import os.path as osp

import mcf_mm  # noqa: F401
import torch

from mcf_mm.utils.compat import atomic_write_bytes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('checkpoint', help='mcf_mm pre-training checkpoint (written by tools/train.py)')
    p.add_argument('out', help='output file')
    p.add_argument('--branch', choices=['online', 'target'], default='online',
                   help='online encoder (default) or the EMA target encoder')
    args = p.parse_args()
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint not found: {args.checkpoint}')
    ckpt = torch.load(args.checkpoint, map_location='cpu', weights_only=False)  # user's own run
    sd = ckpt.get('state_dict', ckpt)
    prefix = 'backbone.' if args.branch == 'online' else 'target.backbone.'
    backbone = {k[len(prefix):]: v.clone() for k, v in sd.items() if k.startswith(prefix)}
    if not backbone:
        found = sorted({k.split('.')[0] for k in sd})
        raise SystemExit(f'no `{prefix}*` tensors in {args.checkpoint}: top-level keys {found}. Is it an mcf_mm '
                         'pre-training checkpoint? Foreign formats load directly or via tools/model_converters/.')
    meta = dict(source=osp.basename(args.checkpoint), branch=args.branch,
                epoch=int(ckpt.get('meta', {}).get('epoch', -1)), format='mmpretrain-vit-backbone')
    buf = io.BytesIO()
    torch.save(dict(state_dict=backbone, meta=meta), buf)
    atomic_write_bytes(buf.getvalue(), args.out)
    print(f'wrote {len(backbone)} backbone tensors ({args.branch}) to {args.out}')


if __name__ == '__main__':
    main()
