"""An ONNX-exportable stand-in for ``nn.AdaptiveAvgPool2d`` at a fixed input size.

The TorchScript ONNX exporter refuses adaptive average pooling whose output size does not divide the input
size (mmseg's PPM pools 1, 2, 3, 6 cells from maps of 4-28 cells). At a fixed input size the pooling is a
linear map per axis, ``out = P_h @ x @ P_w^T``, with PyTorch's windows ``[floor(i*H/o), ceil((i+1)*H/o))``.
"""

import math
from typing import Dict, Tuple

import torch
from torch import Tensor, nn


def adaptive_pool_matrix(in_size: int, out_size: int) -> Tensor:
    """[out_size, in_size] averaging matrix of PyTorch's adaptive pooling along one axis."""
    mat = torch.zeros(out_size, in_size)
    for i in range(out_size):
        start = (i * in_size) // out_size
        end = math.ceil((i + 1) * in_size / out_size)
        mat[i, start:end] = 1.0 / (end - start)
    return mat


class FixedAdaptiveAvgPool2d(nn.Module):
    """``AdaptiveAvgPool2d(out_hw)`` for inputs of spatial size ``in_hw`` only, as two matrix products."""

    def __init__(self, in_hw: Tuple[int, int], out_hw: Tuple[int, int]) -> None:
        super().__init__()
        self.in_hw, self.out_hw = tuple(in_hw), tuple(out_hw)
        self.register_buffer('rows', adaptive_pool_matrix(in_hw[0], out_hw[0]), persistent=False)  # [oh, H]
        self.register_buffer('cols', adaptive_pool_matrix(in_hw[1], out_hw[1]).t().contiguous(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:  # [N, C, H, W] -> [N, C, oh, ow]
        if tuple(x.shape[-2:]) != self.in_hw:
            raise ValueError(f'FixedAdaptiveAvgPool2d was built for {self.in_hw} inputs, got {tuple(x.shape[-2:])}')
        return torch.matmul(torch.matmul(self.rows, x), self.cols)


def _pair(size) -> Tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def freeze_adaptive_pools(model: nn.Module, *example_inputs: Tensor) -> int:
    """Replace every ``nn.AdaptiveAvgPool2d`` of ``model`` by :class:`FixedAdaptiveAvgPool2d` at the input size
    it sees on ``example_inputs`` (one forward pass). Returns how many were replaced."""
    seen: Dict[str, Tuple[int, int]] = {}
    hooks = []

    def _record(name: str):
        return lambda module, args, out: seen.__setitem__(name, tuple(args[0].shape[-2:]))

    for name, mod in model.named_modules():
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            hooks.append(mod.register_forward_hook(_record(name)))
    with torch.no_grad():
        model(*example_inputs)
    for h in hooks:
        h.remove()
    for name, in_hw in seen.items():
        parent_name, _, child = name.rpartition('.')
        parent = model.get_submodule(parent_name) if parent_name else model
        old = getattr(parent, child)
        out_hw = tuple(s if s is not None else i for s, i in zip(_pair(old.output_size), in_hw))
        setattr(parent, child, FixedAdaptiveAvgPool2d(tuple(in_hw), out_hw))
    return len(seen)
