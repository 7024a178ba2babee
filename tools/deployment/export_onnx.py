"""Export a face-alignment or face-parsing model to ONNX, check it with onnxruntime against PyTorch.

Usage:
  python tools/deployment/export_onnx.py CONFIG [CHECKPOINT] --out model.onnx [--opset 17] [--verify]
Writes model.onnx and model.json (what the runtime needs around the graph: crop / warp parameters, classes).
Without CHECKPOINT the model has random weights (a plumbing check). See docs/deployment.md.
"""

import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # the repository root

from mcf_mm.utils.cli import run_cli  # noqa: E402


def main(argv: Optional[List[str]] = None) -> dict:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='Export an mcf_mm alignment / parsing model to ONNX.')
    parser.add_argument('config', help='a configs/face_alignment or configs/face_parsing config')
    parser.add_argument('checkpoint', nargs='?', help='trained checkpoint (default: random weights)')
    parser.add_argument('--out', required=True, help='output .onnx path (a .json with the same stem is written too)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset (default 17)')
    parser.add_argument('--static-batch', action='store_true', help='fix the batch size at 1 (default: dynamic)')
    parser.add_argument('--verify', action='store_true', help='compare onnxruntime with PyTorch on random crops')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys')
    args = parser.parse_args(argv)
    if not args.out.endswith('.onnx'):
        raise ValueError(f'--out must end with .onnx, got {args.out}')
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config not found: {args.config}')
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')

    from mcf_mm.deployment import check_standard_ops, export_onnx, graph_op_types, load_model

    model = load_model(args.config, args.checkpoint, args.cfg_options)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    meta = export_onnx(model, args.out, opset=args.opset, dynamic_batch=not args.static_batch)
    check_standard_ops(args.out)
    ops = graph_op_types(args.out)
    print(f'wrote {args.out} ({meta["task"]}: {meta["input_names"]} -> {meta["output_names"]}, opset {args.opset})')
    print(f'ops (standard ONNX domain only): {", ".join(ops.get("", []))}')
    if args.verify:
        from mcf_mm.deployment.verify import compare_outputs

        diffs = compare_outputs(model, args.out)
        meta['max_abs_diff'] = diffs
        print('max |onnxruntime - PyTorch|: ' + ', '.join(f'{k} {v:.2e}' for k, v in diffs.items()))
    return meta


if __name__ == '__main__':
    run_cli(main, ValueError, TypeError, RuntimeError)
