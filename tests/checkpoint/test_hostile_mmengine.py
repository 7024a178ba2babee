"""mmengine's own checkpoint loaders after ``import mcf_mm``: torch's weights-only default is not widened, so no
hostile payload runs (the bridge's extra plain-data walk is not part of mmengine's path)."""

import os.path as osp
import pickle

import pytest
import torch

from mcf_fixtures.hostile import marker_path, write_hostile_checkpoints

INERT = (
    'gadget_namespace_allowed_setstate',
    'gadget_ordereddict_shadow',  # only allowed globals, no payload
    'gadget_tensor_shadow',
)


def test_mmengine_loaders_after_import(tmp_path):
    """mmengine's own loaders use torch's weights-only default; importing mcf_mm must not widen it."""
    from mmengine.runner import load_checkpoint
    from mmengine.runner.checkpoint import CheckpointLoader

    import mcf_mm  # noqa: F401

    folder = str(tmp_path)
    files = write_hostile_checkpoints(folder)
    for name, path in files.items():
        if name in INERT:  # no payload: nothing could run
            continue
        for call in (
            lambda: load_checkpoint(torch.nn.Linear(2, 2), path, map_location='cpu'),
            lambda: CheckpointLoader.load_checkpoint(path, map_location='cpu'),
        ):
            with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
                call()
            assert not osp.exists(marker_path(folder)), f'the payload of {name} ran'
