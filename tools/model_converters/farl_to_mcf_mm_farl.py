"""Convert an official FaRL (or OpenAI CLIP ViT) checkpoint with both towers into a checkpoint of mcf_mm's
``FaRL`` algorithm (backbone, visual_proj, text_encoder, itc_loss.logit_scale), e.g. to continue pre-training
(``load_from=DST``) or to use the text tower. For the image backbone alone use clip_to_mcf_mm.py.

Usage: python tools/model_converters/farl_to_mcf_mm_farl.py SRC DST
"""
import argparse
import os
import os.path as osp

import mcf_mm  # noqa: F401  (environment fixes)
import torch

from mcf_mm.checkpoint import clip_to_farl_state_dict, read_checkpoint


def main(argv=None) -> dict:
    """Run the conversion; returns the written state dict."""
    parser = argparse.ArgumentParser(description='FaRL/CLIP (both towers) -> mcf_mm FaRL algorithm checkpoint')
    parser.add_argument('src')
    parser.add_argument('dst')
    args = parser.parse_args(argv)
    sd = clip_to_farl_state_dict(read_checkpoint(args.src))
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=sd, meta=dict(source_format='clip', converted_from=osp.basename(args.src))),
               args.dst)
    print(f'Converted {len(sd)} tensors from {args.src} to {args.dst}.')
    return sd


if __name__ == '__main__':
    main()
