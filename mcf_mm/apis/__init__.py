"""Inference APIs.

- :mod:`mcf_mm.apis.inference`: one API for every task (landmarks, parsing, classification) on photos,
  folders and lists, with face detection (:mod:`mcf_mm.detection`): ``init_model``, ``predict``,
  ``save_result`` (re-exported here).
- :mod:`mcf_mm.apis.alignment` / :mod:`mcf_mm.apis.parsing`: one face at a time with a given box / landmarks
  (``init_landmark_model``, ``detect_landmarks``; ``init_face_parser``, ``parse_face``).

The OpenMMLab stacks (mmpose, mmseg, mmpretrain) are imported when a model is built, not here. Trained
checkpoints are read without running code from them and must hold the config's model
(:func:`mcf_mm.checkpoint.load_model_weights`).
"""

import os.path as osp
from typing import Optional


def load_inference_config(config: str, checkpoint: Optional[str] = None, cfg_options: Optional[dict] = None):
    """Read a downstream config for inference: check the files exist, apply overrides, and drop the backbone's
    pre-training ``init_cfg`` (the trained checkpoint holds all weights)."""
    from mmengine.config import Config

    if not osp.isfile(config):
        raise FileNotFoundError(f'config not found: {config}')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.model.backbone.init_cfg = None
    return cfg


from .inference import collect_images, init_model, predict, read_image, save_result  # noqa: E402

__all__ = ['collect_images', 'init_model', 'load_inference_config', 'predict', 'read_image', 'save_result']
