"""Compare an exported graph under onnxruntime with the PyTorch graph it came from, and time both."""

import time
from typing import Dict, Optional

import numpy as np
import torch
from torch import nn

from .export import build_export_graph
from .pooling import freeze_adaptive_pools


def _torch_graph(model: nn.Module):
    import copy

    graph, meta, size = build_export_graph(copy.deepcopy(model).cpu().eval())
    freeze_adaptive_pools(graph, torch.zeros(1, 3, size, size))
    return graph, meta, size


def compare_outputs(model: nn.Module, onnx_path: str, batch: int = 2, seed: int = 0) -> Dict[str, float]:
    """Largest absolute difference per output between PyTorch and onnxruntime on random 0-255 crops."""
    import onnxruntime as ort

    graph, meta, size = _torch_graph(model)
    crops = np.random.RandomState(seed).uniform(0, 255, size=(batch, 3, size, size)).astype(np.float32)
    with torch.no_grad():
        ref = graph(torch.from_numpy(crops))
    ref = ref if isinstance(ref, tuple) else (ref,)
    out = ort.InferenceSession(onnx_path, providers=['CPUExecutionProvider']).run(None, {'crop': crops})
    return {name: float(np.abs(r.numpy() - o).max()) for name, r, o in zip(meta['output_names'], ref, out)}


def time_both(
    model: nn.Module, onnx_path: str, threads: int, repeats: int = 20, warmup: int = 3, batch: int = 1
) -> Dict[str, float]:
    """Median seconds per forward at ``batch`` for PyTorch (``torch.set_num_threads(threads)``, no_grad) and
    onnxruntime (``intra_op_num_threads=threads``), on the same random crop."""
    import onnxruntime as ort

    graph, meta, size = _torch_graph(model)
    crop = np.random.RandomState(0).uniform(0, 255, size=(batch, 3, size, size)).astype(np.float32)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(onnx_path, opts, providers=['CPUExecutionProvider'])
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        x = torch.from_numpy(crop)

        def _torch() -> None:
            with torch.no_grad():
                graph(x)

        def _ort() -> None:
            session.run(None, {'crop': crop})

        return {'torch_s': _median_time(_torch, repeats, warmup), 'onnxruntime_s': _median_time(_ort, repeats, warmup)}
    finally:
        torch.set_num_threads(old)


def _median_time(fn, repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def describe(meta: dict, size: Optional[int] = None) -> str:
    """One line naming the graph's inputs and outputs."""
    io = f'{meta["input_names"]} -> {meta["output_names"]}'
    return f'{meta["task"]} graph {io}' + (f' at {size} px' if size else '')
