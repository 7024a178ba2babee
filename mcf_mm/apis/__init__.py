"""Inference APIs: ``mcf_mm.apis.alignment`` (mmpose landmarks) and ``mcf_mm.apis.parsing`` (mmseg masks).

Import the submodule you need; each pulls in its own OpenMMLab stack. Trained checkpoints are read without
running code from them and must hold the config's model (:func:`mcf_mm.checkpoint.load_model_weights`).
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
