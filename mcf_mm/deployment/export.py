"""Export an mcf_mm face-alignment or face-parsing model to ONNX (TorchScript exporter, ``dynamo=False``).

Graphs (input ``crop``: float32 [N, 3, S, S], BGR, 0-255, the crop/canvas the test pipeline makes):
- alignment: the data preprocessor's channel flip and mean/std, backbone, neck, UPer heatmap head, sigmoid and
  soft-argmax -> ``keypoints`` [N, K, 2] in crop pixels and ``scores`` [N, K] (peak sigmoid), as
  ``UPerHeatmapHead.predict``;
- parsing: the same normalisation, backbone, neck, decode head, logits resized (bilinear) to the canvas ->
  ``logits`` [N, C, S, S], as mmseg's ``EncoderDecoder.predict`` before the post-processing.
The crop (alignment) and the alignment + RoI tanh warp and its inverse (parsing) stay outside the graph:
:mod:`mcf_mm.deployment.runtime` does them in numpy/OpenCV from the JSON written beside the ``.onnx`` file.
"""

import json
import os.path as osp
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn

from .pooling import freeze_adaptive_pools

STANDARD_DOMAINS = ('', 'ai.onnx')


class _Normalise(nn.Module):
    """The data preprocessor's BGR -> RGB flip and ``(x - mean) / std`` for [N, 3, H, W] inputs."""

    def __init__(self, preprocessor: nn.Module) -> None:
        super().__init__()
        if not getattr(preprocessor, '_enable_normalize', False):
            raise ValueError('ONNX export expects a data preprocessor with mean/std (as every mcf_mm config sets)')
        # mmengine's ImgDataPreprocessor (mmpose) names it _channel_conversion, mmseg's SegDataPreProcessor without _
        flip = getattr(preprocessor, '_channel_conversion', getattr(preprocessor, 'channel_conversion', None))
        if flip is None:
            raise ValueError(f'{type(preprocessor).__name__}: cannot tell whether it flips BGR to RGB')
        self.flip = bool(flip)
        self.register_buffer('mean', preprocessor.mean.detach().clone().reshape(1, -1, 1, 1))
        self.register_buffer('std', preprocessor.std.detach().clone().reshape(1, -1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        if self.flip:
            x = x.flip(1)
        return (x - self.mean) / self.std


class LandmarkGraph(nn.Module):
    """Crop [N, 3, S, S] (BGR 0-255) -> keypoints [N, K, 2] (crop pixels), scores [N, K]."""

    def __init__(self, estimator: nn.Module) -> None:
        super().__init__()
        from mcf_mm.downstream.alignment.codec import soft_argmax

        self._soft_argmax = soft_argmax
        self.normalise = _Normalise(estimator.data_preprocessor)
        self.backbone, self.neck, self.head = estimator.backbone, estimator.neck, estimator.head
        size = torch.tensor(estimator.head.decoder.input_size, dtype=torch.float32)  # crop (W, H)
        self.register_buffer('input_size', size)

    def forward(self, crop: Tensor) -> Tuple[Tensor, Tensor]:
        feats = self.backbone(self.normalise(crop))
        if self.neck is not None:
            feats = self.neck(feats)
        probs = self.head.forward(feats).sigmoid()  # [N, K, h, w]
        keypoints = self._soft_argmax(probs) * self.input_size - 0.5  # [N, K, 2]
        return keypoints, probs.flatten(2).amax(dim=-1)


class ParsingGraph(nn.Module):
    """Canvas [N, 3, S, S] (BGR 0-255) -> class logits [N, C, S, S]."""

    def __init__(self, segmentor: nn.Module) -> None:
        super().__init__()
        self.normalise = _Normalise(segmentor.data_preprocessor)
        self.segmentor = segmentor

    def forward(self, crop: Tensor) -> Tensor:
        import torch.nn.functional as F

        logits = self.segmentor.decode_head.forward(self.segmentor.extract_feat(self.normalise(crop)))
        align = bool(getattr(self.segmentor.decode_head, 'align_corners', False))
        return F.interpolate(logits, size=crop.shape[-2:], mode='bilinear', align_corners=align)


def _step(pipeline: List[dict], name: str) -> dict:
    for step in pipeline:
        if step['type'] == name:
            return dict(step)
    raise ValueError(f'the test pipeline has no {name} step; ONNX export needs a config that uses it')


def _as_list(value) -> list:
    if value is None:
        return []
    return [_as_list(v) if isinstance(v, (list, tuple)) else v for v in value]


def landmark_meta(model: nn.Module) -> dict:
    """What the runtime needs around the alignment graph: the crop of ``FaceBoxCrop`` at test time."""
    crop = _step(model.cfg.test_dataloader.dataset.pipeline, 'FaceBoxCrop')
    return dict(
        task='alignment',
        input_size=int(crop.get('input_size', 512)),
        face_scale=float(crop.get('face_scale', 1.0)),
        box_mode=crop.get('box_mode', 'square'),
        num_keypoints=int(model.head.num_keypoints),
    )


def parsing_meta(model: nn.Module) -> dict:
    """What the runtime needs around the parsing graph: ``FaceAlign`` and ``RoITanhWarp`` at test time."""
    pipeline = model.cfg.test_dataloader.dataset.pipeline
    align, warp = _step(pipeline, 'FaceAlign'), _step(pipeline, 'RoITanhWarp')
    size = align.get('canvas_size', 512)
    canvas = [int(size), int(size)] if isinstance(size, int) else [int(s) for s in size]
    meta = getattr(model, 'dataset_meta', None) or {}
    return dict(
        task='parsing',
        canvas_shape=canvas,
        align_source=align.get('source', 'landmarks'),
        landmark_indices=_as_list(align.get('landmark_indices')) or None,
        face_scale=float(align.get('face_scale', 1.0)),
        warp_factor=float(warp.get('warp_factor', 0.8)),
        warp_convention=warp.get('convention', 'pixel_centre'),
        classes=list(meta.get('classes', [])),
        palette=_as_list(meta.get('palette')),
    )


def build_export_graph(model: nn.Module) -> Tuple[nn.Module, dict, int]:
    """The ONNX graph module of a built mcf_mm alignment or parsing model, its runtime meta (with the graph's
    ``input_names`` / ``output_names``) and its input size."""
    from mcf_mm.downstream.alignment import FaceLandmarkEstimator
    from mcf_mm.downstream.parsing import FaceParsingEncoderDecoder

    if isinstance(model, FaceLandmarkEstimator):
        graph, meta = LandmarkGraph(model), landmark_meta(model)
        size = meta['input_size']
    elif isinstance(model, FaceParsingEncoderDecoder):
        graph, meta = ParsingGraph(model), parsing_meta(model)
        size = meta['canvas_shape'][0]
        if meta['canvas_shape'][0] != meta['canvas_shape'][1]:
            raise ValueError(f'ONNX export supports square canvases, got {meta["canvas_shape"]}')
    else:
        raise TypeError(
            f'ONNX export supports FaceLandmarkEstimator (face_alignment configs) and FaceParsingEncoderDecoder '
            f'(face_parsing configs), got {type(model).__name__}'
        )
    outputs = ['keypoints', 'scores'] if meta['task'] == 'alignment' else ['logits']
    return graph.eval(), dict(meta, input_names=['crop'], output_names=outputs), int(size)


def load_model(config: str, checkpoint: Optional[str] = None, cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the config's model (alignment or parsing, from its ``default_scope``) and load ``checkpoint``."""
    from mmengine.config import Config

    scope = Config.fromfile(config).get('default_scope')
    if scope == 'mmpose':
        from mcf_mm.apis.alignment import init_landmark_model

        return init_landmark_model(config, checkpoint, 'cpu', cfg_options).eval()
    if scope == 'mmseg':
        from mcf_mm.apis.parsing import init_face_parser

        return init_face_parser(config, checkpoint, 'cpu', cfg_options).eval()
    raise ValueError(
        f'{config}: default_scope {scope!r}; ONNX export supports configs/face_alignment (mmpose) '
        'and configs/face_parsing (mmseg) configs'
    )


def export_onnx(model: nn.Module, out: str, opset: int = 17, dynamic_batch: bool = True) -> Dict[str, object]:
    """Write ``out`` (.onnx) and ``out`` with ``.json`` (the runtime meta) for a built model.

    Adaptive pools are frozen at the model's input size first (:func:`freeze_adaptive_pools`, in a copy).
    Returns the meta dict written to the JSON.
    """
    import copy

    graph, meta, size = build_export_graph(copy.deepcopy(model).cpu().eval())
    example = torch.zeros(1, 3, size, size)
    freeze_adaptive_pools(graph, example)
    outputs = meta['output_names']
    axes = {name: {0: 'batch'} for name in ['crop', *outputs]} if dynamic_batch else None
    with torch.no_grad():
        torch.onnx.export(
            graph,
            (example,),
            out,
            input_names=['crop'],
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    meta = dict(meta, opset=opset)
    with open(osp.splitext(out)[0] + '.json', 'w') as f:
        json.dump(meta, f, indent=1)
    return meta


def graph_op_types(path: str) -> Dict[str, List[str]]:
    """Op types of an ONNX file by domain ('' = the standard ONNX domain)."""
    import onnx

    ops: Dict[str, set] = {}
    for node in onnx.load(path).graph.node:
        ops.setdefault(node.domain, set()).add(node.op_type)
    return {domain: sorted(types) for domain, types in ops.items()}


def check_standard_ops(path: str) -> None:
    """Raise if the graph uses an op outside the standard ONNX domain (e.g. an ``mmcv`` custom op)."""
    foreign = {d: t for d, t in graph_op_types(path).items() if d not in STANDARD_DOMAINS}
    if foreign:
        raise RuntimeError(f'{path} uses non-standard ONNX ops {foreign}; onnxruntime cannot run them as they are')
