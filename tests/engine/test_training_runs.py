"""Real training runs through tools/: config errors before training, 2-process DDP, exact resume after a SIGKILL
in the middle of a checkpoint write with max_keep_ckpts=1."""

import glob
import os
import os.path as osp
import signal
import subprocess
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mcf_mm  # noqa: F401
from mcf_fixtures.dist import free_port
from mcf_mm.registry import MODELS

ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
# Test harness fault injection (killed run only): every os.fsync sleeps, so a checkpoint write lasts long enough
# to be killed inside it. argv: delay, script, args...
SLOW_DISK = (
    'import os, runpy, sys, time; d = float(sys.argv[1]); f = os.fsync; '
    'os.fsync = lambda fd: (time.sleep(d), f(fd))[1]; sys.argv = sys.argv[2:]; '
    'runpy.run_path(sys.argv[0], run_name="__main__")'
)


def train_cmd(python_exe, repo_root, config, work_dir, *extra):
    return [python_exe, osp.join(repo_root, 'tools', 'train.py'), config, '--work-dir', work_dir, *extra]


def load_state(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']  # runner files are plain data


def build_model(config: str, **model_overrides):
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({f'model.{k}': v for k, v in model_overrides.items()})
    init_default_scope('mcf_mm')
    return cfg, lambda: MODELS.build(cfg.model)


def test_bad_configs_fail_before_training_with_the_fix(tiny_config, tmp_path):
    config = tiny_config()
    _, build = build_model(config, **{'backbone.mask_ratio': 1.2})
    with pytest.raises(ValueError, match='mask_ratio=1.2 .*strictly between 0 and 1.*model config'):
        build()
    _, build = build_model(config, **{'target_generator.checkpoint': str(tmp_path / 'missing.pth')})
    with pytest.raises(FileNotFoundError, match='checkpoint not found.*teacher.checkpoint'):
        build()
    resnet = {
        'state_dict': {
            'conv1.weight': torch.zeros(8, 3, 7, 7),
            'layer1.0.conv1.weight': torch.zeros(8, 8, 3, 3),
            'layer1.0.downsample.0.weight': torch.zeros(8, 8, 1, 1),
        }
    }
    torch.save(resnet, tmp_path / 'resnet.pth')
    _, build = build_model(config, **{'target_generator.checkpoint': str(tmp_path / 'resnet.pth')})
    with pytest.raises(ValueError, match='ResNet'):
        build()
    _, build = build_model(config, **{'target_generator.out_indices': (0, 5)})
    with pytest.raises(IndexError, match=r'out_indices \[5\].*2 blocks.*\[0, 1\]'):
        build()
    # through mmengine's Runner: the error comes from its constructor, before train() is ever called
    cfg = Config.fromfile(config)
    cfg.model.backbone.mask_ratio = 0.0
    cfg.work_dir = str(tmp_path / 'runner')
    with pytest.raises(ValueError, match='mask_ratio'):
        Runner.from_cfg(cfg)


@pytest.mark.slow
def test_dist_train_two_processes_and_resume(tiny_config, tmp_path, repo_root, python_exe):
    config = tiny_config(max_epochs=1)
    work = str(tmp_path / 'ddp')
    env = dict(ENV, PYTHON=python_exe, PORT=str(free_port()))
    run = subprocess.run(
        ['bash', osp.join(repo_root, 'tools', 'dist_train.sh'), config, '2', '--work-dir', work],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))
    logs = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert 'world_size: 2' in logs or 'Distributed launcher: pytorch' in logs
    env['PORT'] = str(free_port())
    run = subprocess.run(
        [
            'bash',
            osp.join(repo_root, 'tools', 'dist_train.sh'),
            config,
            '2',
            '--work-dir',
            work,
            '--resume',
            '--cfg-options',
            'train_cfg.max_epochs=2',
            'param_scheduler.0.end=2',
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    ckpt = torch.load(osp.join(work, 'epoch_2.pth'), map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    resumed_log = sorted(glob.glob(osp.join(work, '*', '*.log')))[-1]
    assert 'resumed epoch: 1' in open(resumed_log).read()


@pytest.mark.slow
def test_sigkill_during_a_checkpoint_write_then_resume_equals_uninterrupted(
    tiny_config, tmp_path, repo_root, python_exe
):
    config = tiny_config(max_epochs=3)
    keep_one = ['--cfg-options', 'default_hooks.checkpoint.max_keep_ckpts=1']
    straight = str(tmp_path / 'straight')
    run = subprocess.run(
        train_cmd(python_exe, repo_root, config, straight, *keep_one),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]

    killed = str(tmp_path / 'killed')
    cmd = train_cmd(python_exe, repo_root, config, killed, *keep_one)
    proc = subprocess.Popen(
        [cmd[0], '-c', SLOW_DISK, '1.0', *cmd[1:]],
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 240
    partial = osp.join(killed, '.epoch_2.pth.*')
    while not glob.glob(partial) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # inside the (slowed) fsync of the temporary epoch_2 file
    assert proc.poll() is None, 'the run ended before it could be killed'
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert glob.glob(partial) and osp.isfile(osp.join(killed, 'epoch_1.pth'))  # killed inside the write
    assert not osp.exists(osp.join(killed, 'epoch_2.pth'))
    assert open(osp.join(killed, 'last_checkpoint')).read().endswith('epoch_1.pth')
    load_state(osp.join(killed, 'epoch_1.pth'))  # the previous checkpoint is complete and kept

    run = subprocess.run(
        train_cmd(python_exe, repo_root, config, killed, '--resume', *keep_one),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert not glob.glob(partial) and sorted(p for p in os.listdir(killed) if p.endswith('.pth')) == ['epoch_3.pth']
    a, b = load_state(osp.join(straight, 'epoch_3.pth')), load_state(osp.join(killed, 'epoch_3.pth'))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f'{k} differs after resume'
