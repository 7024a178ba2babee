"""Face parsing inference in three lines::

model = init_face_parser('configs/face_parsing/<config>.py', 'epoch_300.pth', device='cpu')
result = parse_face(model, 'face.jpg', landmarks=None)  # 5 (or LaPa 106) points if the config aligns by them
save_parsing(result, 'face.jpg', 'out/face')             # out/face_label.png, _label_color.png, _overlay.png

One face, given landmarks (or the whole image); photos with face detection, folders and lists:
:mod:`mcf_mm.apis.inference` and ``tools/infer.py``.
"""

import os
import os.path as osp
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from torch import nn

import mcf_mm  # noqa: F401  (environment fixes)
from mcf_mm.apis import load_inference_config
from mcf_mm.checkpoint import load_model_weights


def init_face_parser(
    config: str, checkpoint: Optional[str] = None, device: str = 'cpu', cfg_options: Optional[dict] = None
) -> nn.Module:
    """Build the segmentor of an mcf_mm face-parsing config and load a trained checkpoint (EMA weights).

    The backbone's pre-training ``init_cfg`` is dropped: the checkpoint holds all weights. It is read safely
    and must hold this model: another model's checkpoint raises ``CheckpointMismatchError`` naming what it holds.
    """
    from mmengine.logging import MMLogger
    from mmseg.apis import init_model

    import mcf_mm.downstream.parsing  # noqa: F401  (registers the plugin)

    cfg = load_inference_config(config, checkpoint, cfg_options)
    model = init_model(cfg, None, device='cpu')
    if checkpoint is not None:
        meta = load_model_weights(
            model, checkpoint, 'a face-parsing model of this config', logger=MMLogger.get_current_instance()
        )
        if isinstance(meta.get('dataset_meta'), dict):  # mmseg 1.x checkpoints
            model.dataset_meta = meta['dataset_meta']
        elif 'CLASSES' in meta:  # older mmseg
            model.dataset_meta = dict(classes=meta['CLASSES'], palette=meta.get('PALETTE'))
    model.to(device)
    if 'classes' not in (getattr(model, 'dataset_meta', None) or {}):  # no checkpoint meta: the dataset's
        from mmseg.registry import DATASETS

        model.dataset_meta = dict(DATASETS.get(cfg.test_dataloader.dataset.type).METAINFO)
    return model


def _inference_pipeline(cfg, from_array: bool, n_points: Optional[int]):
    from mmcv.transforms import Compose

    steps = []
    for step in cfg.test_dataloader.dataset.pipeline:
        step = dict(step)
        if step['type'] in ('LoadAnnotations', 'ResizeImageToLabel'):
            continue
        if step['type'] == 'LoadImageFromFile' and from_array:
            step = dict(type='LoadImageFromNDArray')
        if step['type'] == 'FaceAlign' and step.get('source', 'landmarks') == 'landmarks':
            if n_points is None:
                raise ValueError(
                    'this model aligns the face by 5 landmarks (eyes, nose tip, mouth corners): '
                    'pass landmarks=[[x, y], ...] to parse_face'
                )
            if n_points == 5:
                step['landmark_indices'] = None
        steps.append(step)
    return Compose(steps)


def parse_face(model: nn.Module, image: Union[str, np.ndarray], landmarks: Optional[Sequence[Sequence[float]]] = None):
    """Parse one face; returns mmseg's SegDataSample with ``pred_sem_seg`` / ``seg_logits`` at image size.

    Args:
        model: from :func:`init_face_parser`.
        image: a path or a BGR uint8 array [H, W, 3].
        landmarks: five points (left eye, right eye, nose tip, left/right mouth corner) or the LaPa 106,
            in image pixels; needed only by configs that align by landmarks (LaPa).
    """
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    init_default_scope('mmseg')
    pts = None if landmarks is None else np.asarray(landmarks, np.float32)  # [K, 2]
    if pts is not None and (pts.ndim != 2 or pts.shape[1] != 2):
        raise ValueError(f'landmarks must be [K, 2] (x, y) points, got shape {pts.shape}')
    from_array = isinstance(image, np.ndarray)
    if not from_array and not osp.isfile(image):
        raise FileNotFoundError(f'image not found: {image}')
    pipeline = _inference_pipeline(model.cfg, from_array, None if pts is None else len(pts))
    results = dict(img=image) if from_array else dict(img_path=image)
    if pts is not None:
        results['face_landmarks'] = pts
    data = pseudo_collate([pipeline(results)])
    with torch.no_grad():
        return model.test_step(data)[0]


def save_parsing(
    result, image: Union[str, np.ndarray], out_prefix: str, palette=None, alpha: float = 0.5, classes=None
) -> Tuple[str, str]:
    """Write ``<out_prefix>_label.png`` (class ids), ``<out_prefix>_label_color.png`` (the ids in the palette)
    and ``<out_prefix>_overlay.png`` (colours over the image, with a legend beside it when ``classes`` given).

    Args:
        palette: [C, 3] RGB colours; default: a fixed one (pass the model's ``dataset_meta['palette']``).
        classes: class names for the legend (the model's ``dataset_meta['classes']``).
    Returns:
        the label and overlay paths.
    """
    from .inference import colour_labels, default_palette, draw_legend

    label = result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)  # [H, W]
    img = cv2.imread(image) if isinstance(image, str) else image
    if img is None or img.shape[:2] != label.shape:
        raise ValueError(
            f'image of shape {None if img is None else img.shape[:2]} does not match the '
            f'prediction {label.shape}; pass the image that was parsed'
        )
    if palette is None:
        palette = default_palette(max(int(label.max()) + 1, len(classes or ())))
    colours = colour_labels(label, palette)  # BGR [H, W, 3]
    overlay = (img.astype(np.float32) * (1 - alpha) + colours.astype(np.float32) * alpha).astype(np.uint8)
    overlay[label == 0] = img[label == 0]
    if classes:
        overlay = draw_legend(overlay, list(classes), palette, present=set(np.unique(label).tolist()))
    os.makedirs(osp.dirname(osp.abspath(out_prefix)), exist_ok=True)
    label_path, overlay_path = f'{out_prefix}_label.png', f'{out_prefix}_overlay.png'
    cv2.imwrite(label_path, label)
    cv2.imwrite(f'{out_prefix}_label_color.png', colours)
    cv2.imwrite(overlay_path, overlay)
    return label_path, overlay_path
