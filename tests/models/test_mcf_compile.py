"""MCF trains under mmengine's ``compile`` key (Runner(compile=...) wraps train_step in torch.compile): the
compiled run (dynamo-traced, 'eager' backend, so no C++ build in the test) ends with the uncompiled run's weights."""

import glob
import json
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner


def train(config: str, work_dir: str, compile_cfg=None):
    cfg = Config.fromfile(config)
    cfg.work_dir = work_dir
    cfg.experiment_name = f'compile_{uuid.uuid4().hex}'  # one MessageHub per run
    if compile_cfg is not None:
        cfg.compile = compile_cfg
    runner = Runner.from_cfg(cfg)
    runner.train()
    (scalars,) = glob.glob(f'{work_dir}/*/vis_data/scalars.json')
    losses = [json.loads(line)['loss'] for line in open(scalars) if 'loss' in line]
    model = runner.model
    return losses, {k: v.detach().clone() for k, v in model.state_dict().items()}, model


@pytest.mark.slow  # two Runner trainings plus dynamo tracing: about 20 s
def test_compiled_train_step_matches_eager(tiny_config, tmp_path):
    torch._dynamo.reset()
    config = tiny_config(max_epochs=1)
    eager_losses, eager_sd, _ = train(config, str(tmp_path / 'eager'))
    comp_losses, comp_sd, model = train(config, str(tmp_path / 'compiled'), dict(backend='eager'))
    assert hasattr(model.train_step, '_torchdynamo_orig_callable')  # the runner did compile train_step
    assert len(eager_losses) == len(comp_losses) == 3  # 12 faces / batch 4
    for a, b in zip(eager_losses, comp_losses):
        assert abs(a - b) <= 1e-5 * max(1.0, abs(a)), (a, b)
    assert set(eager_sd) == set(comp_sd)
    for k in eager_sd:
        assert torch.allclose(eager_sd[k].float(), comp_sd[k].float(), rtol=1e-4, atol=1e-6), k
    torch._dynamo.reset()
