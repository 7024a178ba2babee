"""tools/model_converters/publish_model.py: optimiser state dropped, sha256 prefix in the name, weights_only-loadable."""
import hashlib
import importlib.util
import os.path as osp

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location('publish_model', osp.join(ROOT, 'tools', 'model_converters', 'publish_model.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_publish_runner_checkpoint(tmp_path):
    weights = {'backbone.w': torch.randn(4, 4), 'target.backbone.w': torch.randn(4, 4)}
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.randn(4, 4))])
    src = str(tmp_path / 'epoch_3.pth')
    torch.save({'state_dict': weights, 'optimizer': opt.state_dict(), 'param_schedulers': [{'last_epoch': 3}],
                'message_hub': {'log_scalars': {'loss': HistoryBuffer()}},
                'meta': {'epoch': 3, 'iter': np.int64(120), 'mcf_mm_algorithm': 'MCF', 'hook': HistoryBuffer()}},
               src)
    final = load_tool().main([src, str(tmp_path / 'out' / 'mcf_tiny.pth')])
    digest = hashlib.sha256(open(final, 'rb').read()).hexdigest()
    assert osp.basename(final) == f'mcf_tiny-{digest[:8]}.pth'
    ckpt = torch.load(final, weights_only=True)  # plain: no mmengine/numpy objects left
    assert set(ckpt) == {'state_dict', 'meta'}
    assert list(ckpt['state_dict']) == ['backbone.w']  # EMA target dropped by default
    torch.testing.assert_close(ckpt['state_dict']['backbone.w'], weights['backbone.w'])
    assert ckpt['meta']['iter'] == 120 and ckpt['meta']['epoch'] == 3 and 'hook' not in ckpt['meta']
    kept = load_tool().main([src, str(tmp_path / 'full.pth'), '--keep-target'])
    assert set(torch.load(kept, weights_only=True)['state_dict']) == set(weights)
