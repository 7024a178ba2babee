"""Publish a training checkpoint: keep the weights and plain meta, drop optimiser/scheduler/message-hub state,
and put the first 8 hex digits of the file's sha256 in its name (``name-1a2b3c4d.pth``).

Usage: python tools/model_converters/publish_model.py IN.pth OUT.pth [--keep-target]
IN is read without running code from it (a checkpoint of an older run that pickles mmengine/numpy objects is
refused: re-save it first with ``convert.py --trust-pickle``). The published file loads with
``torch.load(..., weights_only=True)``.
"""

import argparse
import hashlib
import io
import os.path as osp
from typing import Any, List, Optional

import torch

from mcf_mm.checkpoint import read_checkpoint
from mcf_mm.utils.cli import run_cli
from mcf_mm.utils.fileio import atomic_write_bytes

DROPPED = ('optimizer', 'param_schedulers', 'message_hub', 'scaler', 'lr_scheduler', 'ema_state_dict')


def plain(value: Any) -> Any:
    """Keep plain meta values (str/int/float/bool/None, lists, dicts of them); drop objects, including those
    ``convert.py --trust-pickle`` encoded as ``{'__class__': ...}`` dicts."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [p for p in map(plain, value) if p is not _DROP]
    if isinstance(value, dict) and '__class__' in value:
        return _DROP
    if isinstance(value, dict):
        return {str(k): p for k, p in ((k, plain(v)) for k, v in value.items()) if p is not _DROP}
    if hasattr(value, 'item') and getattr(value, 'size', 2) == 1:  # numpy / torch scalar
        return value.item()
    return _DROP


_DROP = object()


def publish(src: str, dst: str, keep_target: bool = False) -> str:
    """Write the published checkpoint and return its final path (with the hash in its name).

    Args:
        src: a runner checkpoint (or any dict checkpoint with ``state_dict``/``model``).
        dst: output path; ``-<sha256[:8]>`` is inserted before the extension.
        keep_target: keep an MCF checkpoint's EMA target encoder (``target.*``); dropped by default since
            downstream use needs only the online backbone.
    """
    ckpt = read_checkpoint(src)
    weights = ckpt.get('state_dict', ckpt.get('model'))
    if not isinstance(weights, dict):
        raise ValueError(f'{src!r} has no `state_dict` or `model` entry; keys found: {list(ckpt)[:8]}.')
    weights = {
        k: v.detach().cpu().clone()
        for k, v in weights.items()
        if isinstance(v, torch.Tensor) and (keep_target or not k.startswith('target.'))
    }
    meta = plain({k: v for k, v in (ckpt.get('meta') or {}).items()})
    meta['published_from'] = osp.basename(src)
    dropped = [k for k in ckpt if k in DROPPED]
    buf = io.BytesIO()
    torch.save(dict(state_dict=weights, meta=meta), buf)
    stem, ext = osp.splitext(dst)
    final = f'{stem}-{hashlib.sha256(buf.getvalue()).hexdigest()[:8]}{ext or ".pth"}'
    atomic_write_bytes(buf.getvalue(), final)
    print(
        f'Published {len(weights)} tensors to {final} (dropped: {dropped or "nothing"}; '
        f'{osp.getsize(src) / 2**20:.1f} MiB -> {osp.getsize(final) / 2**20:.1f} MiB).'
    )
    return final


def main(argv: Optional[List[str]] = None) -> str:
    parser = argparse.ArgumentParser(description='Strip training state from a checkpoint and hash its name.')
    parser.add_argument('src', help='input checkpoint (e.g. work_dirs/x/epoch_16.pth)')
    parser.add_argument('dst', help='output path, e.g. mcf_vit-b16_laion-face.pth')
    parser.add_argument('--keep-target', action='store_true', help="keep MCF's EMA target encoder")
    args = parser.parse_args(argv)
    return publish(args.src, args.dst, args.keep_target)


if __name__ == '__main__':
    run_cli(main, ValueError)
