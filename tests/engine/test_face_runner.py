"""FaceRunner in process on a toy model: exact resume, max_keep_ckpts ordering, interrupted saves, refusals."""

import os
import os.path as osp
import subprocess
import sys
import uuid

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mcf_fixtures.toy_parts import METAINFO, StopAfterEpoch, toy_cfg
from mcf_mm.checkpoint import CheckpointFormatError
from mcf_mm.engine import CrashSafeCheckpointHook, FaceRunner
from mcf_mm.engine.checkpoint_io import PARTIAL_SUFFIX


def build(work_dir, **kwargs) -> FaceRunner:
    hooks = kwargs.pop('hooks', [])
    # a fresh experiment name: runners built in the same second would otherwise share one MessageHub
    runner = FaceRunner.from_cfg(Config(toy_cfg(str(work_dir), experiment_name=f'toy_{uuid.uuid4().hex}', **kwargs)))
    for hook in hooks:
        runner.register_hook(hook)
    return runner


def weights(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def train_interrupted(work_dir, stop: int, **kwargs) -> FaceRunner:
    with pytest.raises(KeyboardInterrupt):
        build(work_dir, hooks=[StopAfterEpoch(stop)], **kwargs).train()
    runner = build(work_dir, resume=True, **kwargs)
    runner.train()
    return runner


def test_resume_continues_exactly_weights_hub_rng_and_best_score(tmp_path):
    straight = build(tmp_path / 'straight', save_best='mae')
    straight.train()
    resumed = train_interrupted(tmp_path / 'resumed', stop=2, save_best='mae')
    a, b = weights(str(tmp_path / 'straight' / 'epoch_3.pth')), weights(str(tmp_path / 'resumed' / 'epoch_3.pth'))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # dropout RNG restored
    for runner in (straight, resumed):  # the best-score bookkeeping is a numpy scalar, rebuilt as one
        assert type(runner.message_hub.get_info('best_score')) is np.float64
    assert straight.message_hub.get_info('best_score') == resumed.message_hub.get_info('best_score')
    assert osp.basename(straight.message_hub.get_info('best_ckpt')) == osp.basename(
        resumed.message_hub.get_info('best_ckpt')
    )
    loss_a = straight.message_hub.get_scalar('train/loss').data[0]
    loss_b = resumed.message_hub.get_scalar('train/loss').data[0]
    assert len(loss_a) == 12 and np.array_equal(loss_a, loss_b)  # the message hub's history continued
    meta = torch.load(str(tmp_path / 'resumed' / 'epoch_3.pth'), weights_only=True)['meta']['dataset_meta']
    assert torch.equal(meta['sigmas'], torch.from_numpy(METAINFO['sigmas']))


def test_max_keep_one_removes_the_old_checkpoint_only_after_the_new_one(tmp_path, monkeypatch):
    events = []
    replace, remove = os.replace, os.remove
    monkeypatch.setattr(
        os, 'replace', lambda src, dst: (events.append(('write', osp.basename(dst))), replace(src, dst))[1]
    )
    monkeypatch.setattr(os, 'remove', lambda p: (events.append(('remove', osp.basename(p))), remove(p))[1])
    build(tmp_path, max_keep_ckpts=1, save_best='mae').train()
    monkeypatch.undo()
    for epoch in (2, 3):
        new, old = ('write', f'epoch_{epoch}.pth'), ('remove', f'epoch_{epoch - 1}.pth')
        pointer = events.index(('write', 'last_checkpoint'), events.index(new))
        assert events.index(new) < pointer < events.index(old), events
    for old in [e for e in events if e[0] == 'remove' and e[1].startswith('best_')]:
        epoch = int(old[1].split('_')[-1][:-4])
        assert events.index(('write', f'best_mae_epoch_{epoch + 1}.pth')) < events.index(old)
    names = sorted(os.listdir(tmp_path))
    assert 'epoch_3.pth' in names and 'epoch_1.pth' not in names and 'epoch_2.pth' not in names
    assert open(tmp_path / 'last_checkpoint').read() == str(tmp_path / 'epoch_3.pth')


def test_a_removal_cut_short_is_finished_and_partials_cleaned_at_the_next_start(tmp_path, monkeypatch):
    def die(self, runner, paths):
        if paths:
            raise KeyboardInterrupt('killed between saving epoch_2 and removing epoch_1')

    monkeypatch.setattr(CrashSafeCheckpointHook, '_remove', die)
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path, max_keep_ckpts=1).train()
    monkeypatch.undo()
    assert {'epoch_1.pth', 'epoch_2.pth'} <= set(os.listdir(tmp_path))
    partial = tmp_path / f'.epoch_3.pth.abc{PARTIAL_SUFFIX}'
    partial.write_bytes(b'PK\x03\x04 half a checkpoint')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_9.pth'))  # stale: names a missing file
    runner = build(tmp_path, max_keep_ckpts=1, resume=True)
    runner.train()
    assert runner.iter == 12
    names = sorted(n for n in os.listdir(tmp_path) if n.endswith('.pth') or PARTIAL_SUFFIX in n)
    assert names == ['epoch_3.pth']  # epoch_1 removed at start, the partial file too; resumed from epoch_2


def test_hostile_and_foreign_files_are_refused_on_every_runner_path(tmp_path):
    from mcf_fixtures.hostile import marker_path, write_hostile_checkpoints

    files = write_hostile_checkpoints(str(tmp_path / 'hostile'))
    torch.save({'state_dict': {'net.0.weight': torch.zeros(8, 4)}}, str(tmp_path / 'weights_only.pth'))
    runner = build(tmp_path / 'work', resume=True)
    for name, path in files.items():
        for call in (runner.load_checkpoint, runner.resume):
            with pytest.raises(CheckpointFormatError, match='refused|not plain|unsafe|needs') as err:
                call(path)
            assert path in str(err.value) or repr(path) in str(err.value), (name, str(err.value))
        assert not osp.exists(marker_path(str(tmp_path / 'hostile'))), f'{name}: the payload ran'
    runner = build(tmp_path / 'test', load_from=files['gadget_config_load'])
    with pytest.raises(CheckpointFormatError):
        runner.test()
    with pytest.raises(CheckpointFormatError, match='not a training checkpoint.*load_from'):
        build(tmp_path / 'work2').resume(str(tmp_path / 'weights_only.pth'))
    assert not osp.exists(marker_path(str(tmp_path / 'hostile')))


def test_runner_checkpoints_load_in_mmengine_without_extra_globals(tmp_path):
    """mmengine's own loader (torch.load with its default weights_only=True) reads FaceRunner's files."""
    from mmengine.runner.checkpoint import CheckpointLoader

    build(tmp_path, max_epochs=1).train()
    ckpt = CheckpointLoader.load_checkpoint(str(tmp_path / 'epoch_1.pth'), map_location='cpu')
    assert ckpt['meta']['epoch'] == 1 and 'rng_state' in ckpt and 'optimizer' in ckpt
    assert isinstance(ckpt['rng_state']['numpy']['key'], torch.Tensor)


@pytest.mark.slow
def test_an_old_pickled_runner_checkpoint_is_refused_then_resumes_after_the_trusted_conversion(tmp_path):
    """A checkpoint as mmengine's Runner writes it (HistoryBuffer, numpy RNG state pickled) needs the opt-in
    re-save (``convert.py --trust-pickle``); the converted file resumes to the uninterrupted run's weights."""
    from mcf_mm.engine import from_plain

    build(tmp_path / 'straight').train()
    with pytest.raises(KeyboardInterrupt):
        build(tmp_path / 'old', hooks=[StopAfterEpoch(1)]).train()
    plain = torch.load(str(tmp_path / 'old' / 'epoch_1.pth'), weights_only=True)
    old = from_plain(plain)  # the manifest is consumed: numpy values and HistoryBuffers again
    old_state = old['rng_state']['numpy']  # the old hook stored numpy's tuple (uint32 array):
    old['rng_state']['numpy'] = (
        'MT19937',
        old_state['key'].numpy().astype(np.uint32),
        old_state['pos'],
        old_state['has_gauss'],
        old_state['cached_gaussian'],
    )
    old_path = str(tmp_path / 'old' / 'epoch_1.pth')
    torch.save(old, old_path)  # full pickle: mmengine.logging.HistoryBuffer, numpy arrays and scalars
    runner = build(tmp_path / 'old', resume=True)
    with pytest.raises(CheckpointFormatError, match='HistoryBuffer|numpy.*--trust-pickle'):
        runner.train()
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    run = subprocess.run(
        [
            sys.executable,
            osp.join(repo, 'tools', 'model_converters', 'convert.py'),
            old_path,
            str(tmp_path / 'converted.pth'),
            '--trust-pickle',
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore'),
    )
    assert run.returncode == 0, run.stderr[-2000:]
    runner = build(tmp_path / 'old', resume=True, load_from=str(tmp_path / 'converted.pth'))
    runner.train()
    assert isinstance(runner.message_hub.get_scalar('train/loss').data[0], np.ndarray)
    a, b = weights(str(tmp_path / 'straight' / 'epoch_3.pth')), weights(str(tmp_path / 'old' / 'epoch_3.pth'))
    assert all(torch.equal(a[k], b[k]) for k in a)
