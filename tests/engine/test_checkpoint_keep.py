"""Two CrashSafeCheckpointHooks (epoch and iteration checkpoints) each keep their own newest ``max_keep_ckpts``,
also across an interruption and resume; a checkpoint with mmengine's single shared keep list is still read."""

import os
import uuid

import pytest
import torch
from mmengine.config import Config

from mcf_fixtures.toy_parts import StopAfterEpoch, toy_cfg
from mcf_mm.engine import FaceRunner

# toy run: 3 epochs x 4 iterations; epoch checkpoints every epoch, iteration checkpoints every 2 iterations


def build(work_dir, keep_epochs=2, keep_iters=2, hooks=(), **kw) -> FaceRunner:
    mid = dict(type='CrashSafeCheckpointHook', by_epoch=False, interval=2, max_keep_ckpts=keep_iters, save_last=False)
    cfg = toy_cfg(str(work_dir), max_keep_ckpts=keep_epochs, experiment_name=f'toy_{uuid.uuid4().hex}', **kw)
    cfg['custom_hooks'] = cfg['custom_hooks'] + [mid]
    runner = FaceRunner.from_cfg(Config(cfg))
    for hook in hooks:
        runner.register_hook(hook)
    return runner


def ckpts(folder) -> set:
    return {n for n in os.listdir(folder) if n.endswith('.pth')}


def newest(k: int, steps, tmpl: str) -> set:
    """The k newest of the checkpoint steps written so far, as file names."""
    return {tmpl.format(s) for s in sorted(steps)[-k:]}


@pytest.mark.parametrize('k_epoch,k_iter', [(2, 2), (1, 3)])
def test_epoch_and_iteration_hooks_keep_their_own_newest(tmp_path, k_epoch, k_iter):
    build(tmp_path / 'straight', k_epoch, k_iter).train()
    expected = newest(k_epoch, [1, 2, 3], 'epoch_{}.pth') | newest(k_iter, range(2, 13, 2), 'iter_{}.pth')
    assert ckpts(tmp_path / 'straight') == expected
    work = tmp_path / 'resumed'
    with pytest.raises(KeyboardInterrupt):
        build(work, k_epoch, k_iter, hooks=[StopAfterEpoch(2)]).train()
    at_stop = newest(k_epoch, [1, 2], 'epoch_{}.pth') | newest(k_iter, range(2, 9, 2), 'iter_{}.pth')
    assert ckpts(work) == at_stop
    build(work, k_epoch, k_iter, resume=True).train()
    assert ckpts(work) == expected


def test_a_checkpoint_with_the_shared_keep_list_is_read_by_its_hook(tmp_path):
    """Before per-hook lists only one hook kept a list, under ``keep_ckpt_ids``: the epoch hook's here."""
    work = tmp_path / 'old'
    with pytest.raises(KeyboardInterrupt):
        build(work, keep_epochs=2, keep_iters=-1, hooks=[StopAfterEpoch(2)]).train()
    assert ckpts(work) == {'epoch_1.pth', 'epoch_2.pth'} | {f'iter_{i}.pth' for i in (2, 4, 6, 8)}
    path = str(work / 'epoch_2.pth')
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    info = ckpt['message_hub']['runtime_info']
    assert info.pop('keep_ckpt_ids:epoch_{}.pth') == [1, 2]
    ckpt['message_hub']['resumed_keys'].pop('keep_ckpt_ids:epoch_{}.pth')
    info['keep_ckpt_ids'] = [1, 2]  # as the checkpoint hook wrote it before
    ckpt['message_hub']['resumed_keys']['keep_ckpt_ids'] = True
    torch.save(ckpt, path)
    build(work, keep_epochs=2, keep_iters=2, resume=True).train()
    # the epoch hook kept its 2 newest (epoch_1 removed); the iteration hook did not take the epoch list (there is
    # no iter_1.pth): its own list began at the resume (iter_10, iter_12), the older iteration files stay
    assert ckpts(work) == {'epoch_2.pth', 'epoch_3.pth'} | {f'iter_{i}.pth' for i in (2, 4, 6, 8, 10, 12)}
