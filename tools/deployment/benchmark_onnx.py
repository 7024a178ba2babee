"""CPU latency of an exported model under onnxruntime vs its PyTorch graph, batch 1 by default.

Usage:
  python tools/deployment/benchmark_onnx.py CONFIG [CHECKPOINT] --onnx model.onnx --threads 1 2 [--repeats 30]
Times the graph only (crop -> outputs), median of --repeats runs after 3 warm-ups, same random crop for both.
"""

import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))  # the repository root

from mcf_mm.utils.cli import run_cli  # noqa: E402


def main(argv: Optional[List[str]] = None) -> list:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description='Time an exported model: onnxruntime vs PyTorch on the CPU.')
    parser.add_argument('config')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--onnx', required=True, help='the .onnx file exported from CONFIG')
    parser.add_argument('--threads', type=int, nargs='+', default=[1])
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if not osp.isfile(args.onnx):
        raise FileNotFoundError(f'ONNX model not found: {args.onnx} (export it with tools/deployment/export_onnx.py)')

    from mcf_mm.deployment import load_model
    from mcf_mm.deployment.verify import time_both

    model = load_model(args.config, args.checkpoint, args.cfg_options)
    rows = []
    for threads in args.threads:
        t = time_both(model, args.onnx, threads, repeats=args.repeats, batch=args.batch)
        rows.append(dict(threads=threads, **t))
        print(
            f'{osp.basename(args.config)} batch {args.batch}, {threads} thread(s): '
            f'PyTorch {t["torch_s"] * 1e3:.1f} ms, onnxruntime {t["onnxruntime_s"] * 1e3:.1f} ms'
        )
    return rows


if __name__ == '__main__':
    run_cli(main, ValueError, TypeError)
