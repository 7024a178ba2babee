"""tools/model_converters/publish_model.py: optimiser state dropped, sha256 prefix in the name, weights_only-loadable;
an old runner checkpoint (mmengine/numpy objects) is refused until re-saved with convert.py --trust-pickle."""

import hashlib
import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from mcf_mm.checkpoint import UnsafeCheckpointError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool(name: str):
    path = osp.join(ROOT, 'tools', 'model_converters', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def runner_checkpoint(weights: dict, plain: bool) -> dict:
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.randn(4, 4))])
    hub = (
        {'log_scalars': {'loss': {'log_history': [0.5], 'count_history': [1]}}}
        if plain
        else {'log_scalars': {'loss': HistoryBuffer()}}
    )
    meta = {'epoch': 3, 'iter': 120 if plain else np.int64(120), 'mcf_mm_algorithm': 'MCF'}
    if not plain:
        meta['hook'] = HistoryBuffer()
    return {
        'state_dict': weights,
        'optimizer': opt.state_dict(),
        'param_schedulers': [{'last_epoch': 3}],
        'message_hub': hub,
        'meta': meta,
    }


def check_published(final: str, weights: dict) -> None:
    digest = hashlib.sha256(open(final, 'rb').read()).hexdigest()
    assert osp.basename(final).endswith(f'-{digest[:8]}.pth')
    ckpt = torch.load(final, weights_only=True)  # plain: no mmengine/numpy objects left
    assert set(ckpt) == {'state_dict', 'meta'}
    assert list(ckpt['state_dict']) == ['backbone.w']  # EMA target dropped by default
    torch.testing.assert_close(ckpt['state_dict']['backbone.w'], weights['backbone.w'])
    assert ckpt['meta']['iter'] == 120 and ckpt['meta']['epoch'] == 3 and 'hook' not in ckpt['meta']


def test_publish_plain_runner_checkpoint(tmp_path):
    weights = {'backbone.w': torch.randn(4, 4), 'target.backbone.w': torch.randn(4, 4)}
    src = str(tmp_path / 'epoch_3.pth')
    torch.save(runner_checkpoint(weights, plain=True), src)
    final = load_tool('publish_model').main([src, str(tmp_path / 'out' / 'mcf_tiny.pth')])
    assert osp.basename(final).startswith('mcf_tiny-')
    check_published(final, weights)
    kept = load_tool('publish_model').main([src, str(tmp_path / 'full.pth'), '--keep-target'])
    assert set(torch.load(kept, weights_only=True)['state_dict']) == set(weights)


def test_old_runner_checkpoint_is_refused_then_resaved(tmp_path):
    weights = {'backbone.w': torch.randn(4, 4), 'target.backbone.w': torch.randn(4, 4)}
    old = str(tmp_path / 'epoch_3.pth')
    torch.save(runner_checkpoint(weights, plain=False), old)
    with pytest.raises(UnsafeCheckpointError, match=r'HistoryBuffer.*--trust-pickle'):
        load_tool('publish_model').main([old, str(tmp_path / 'x.pth')])
    assert not list(tmp_path.glob('x*'))
    plain = str(tmp_path / 'epoch_3_plain.pth')
    load_tool('convert').main(['--trust-pickle', old, plain])  # the explicit opt-in for one's own file
    resaved = torch.load(plain, weights_only=True)
    hub = resaved['message_hub']['log_scalars']['loss']
    assert hub['__class__'] == 'mmengine.logging.history_buffer.HistoryBuffer' and hub['max_length'] > 0
    check_published(load_tool('publish_model').main([plain, str(tmp_path / 'pub.pth')]), weights)
