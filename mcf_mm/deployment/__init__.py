"""Deployment: ONNX export of the alignment and parsing models (:mod:`.export`) and an onnxruntime runner with
the crop / warp geometry around the graph (:mod:`.runtime`). See docs/deployment.md."""

from .export import build_export_graph, check_standard_ops, export_onnx, graph_op_types, load_model
from .pooling import FixedAdaptiveAvgPool2d, freeze_adaptive_pools

__all__ = [
    'build_export_graph',
    'check_standard_ops',
    'export_onnx',
    'graph_op_types',
    'load_model',
    'FixedAdaptiveAvgPool2d',
    'freeze_adaptive_pools',
]
