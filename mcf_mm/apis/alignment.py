"""Face landmark inference in three lines::

model = init_landmark_model('configs/face_alignment/<config>.py', 'epoch_150.pth', device='cpu')
result = detect_landmarks(model, 'face.jpg', box=None)          # box [x1, y1, x2, y2] or whole image
save_landmarks(result, 'face.jpg', 'face_landmarks.json', 'face_landmarks.png')

One face with a given box (``box=None``: the whole image is the face). Photos with face detection (and the
box mapped onto the model's training convention), folders and lists: :mod:`mcf_mm.apis.inference` and
``tools/infer.py``.
"""

import json
import os.path as osp
from typing import Optional, Sequence, Union

import cv2
import numpy as np
from torch import nn

import mcf_mm  # noqa: F401  (environment fixes)
from mcf_mm.apis import load_inference_config
from mcf_mm.checkpoint import load_model_weights


def init_landmark_model(
    config: str, checkpoint: Optional[str] = None, device: str = 'cpu', cfg_options: Optional[dict] = None
) -> nn.Module:
    """Build the estimator of an mcf_mm face-alignment config and load a trained checkpoint (EMA weights).

    The backbone's pre-training ``init_cfg`` is dropped: the checkpoint holds all weights. It is read safely
    and must hold this model: another model's checkpoint raises ``CheckpointMismatchError`` naming what it holds.
    ``dataset_meta`` comes from the config (the checkpoint's copy may hold numpy arrays stored as tensors).
    """
    from mmengine.logging import MMLogger
    from mmpose.apis import init_model

    cfg = load_inference_config(config, checkpoint, cfg_options)
    model = init_model(cfg, None, device='cpu')
    if checkpoint is not None:
        load_model_weights(
            model, checkpoint, 'a face-alignment model of this config', logger=MMLogger.get_current_instance()
        )
    return model.to(device)


def detect_landmarks(model: nn.Module, image: Union[str, np.ndarray], box: Optional[Sequence[float]] = None) -> dict:
    """Landmarks of one face in original-image pixels.

    Args:
        model: from :func:`init_landmark_model`.
        image: file path or BGR array [H, W, 3].
        box: face box [x1, y1, x2, y2]; None = the whole image.
    Returns:
        dict(keypoints=[[x, y], ...] (K), scores=[...] (K), box=[x1, y1, x2, y2]).
    """
    from mmpose.apis import inference_topdown

    if isinstance(image, str) and not osp.isfile(image):
        raise FileNotFoundError(f'image not found: {image}')
    boxes = None if box is None else np.asarray(box, dtype=np.float32).reshape(1, 4)
    sample = inference_topdown(model, image, boxes, bbox_format='xyxy')[0]
    pred = sample.pred_instances
    return dict(
        keypoints=np.asarray(pred.keypoints)[0].tolist(),
        scores=np.asarray(pred.keypoint_scores)[0].tolist(),
        box=np.asarray(pred.bboxes).reshape(-1)[:4].tolist(),
    )


def draw_landmarks(image: np.ndarray, result: dict, radius: int = 2) -> np.ndarray:
    """Copy of a BGR image with the box (blue), the points (green) and their 0-based indices (red) drawn."""
    from .inference import draw_points

    return draw_points(image.copy(), result['keypoints'], result['box'])


def save_landmarks(
    result: dict, image: Union[str, np.ndarray], out_json: Optional[str] = None, out_png: Optional[str] = None
) -> None:
    """Write the result as JSON and/or a PNG with the points drawn."""
    if out_json:
        with open(out_json, 'w') as f:
            json.dump(result, f, indent=1)
    if out_png:
        img = cv2.imread(image) if isinstance(image, str) else image
        if not cv2.imwrite(out_png, draw_landmarks(img, result)):
            raise OSError(f'could not write {out_png}')
