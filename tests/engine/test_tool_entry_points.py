"""tools/train.py and tools/test.py refuse hostile checkpoints (the payload never runs), exit non-zero and say
why; a genuine runner checkpoint tests fine and a symlinked dump target stays a symlink."""

import json
import os
import os.path as osp
import subprocess

import pytest

from mcf_fixtures.hostile import marker_path, write_hostile_checkpoints
from mcf_fixtures.toy_parts import write_toy_config

HERE = osp.dirname(osp.abspath(__file__))
pytestmark = pytest.mark.slow  # every test here starts tools/ in a new interpreter


def run_tool(repo_root: str, python_exe: str, script: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        OMP_NUM_THREADS='1',
        PYTHONWARNINGS='ignore',
        PYTHONPATH=os.pathsep.join([osp.dirname(HERE), repo_root, os.environ.get('PYTHONPATH', '')]),
    )
    return subprocess.run(
        [python_exe, osp.join(repo_root, 'tools', script), *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope='module')
def hostile(tmp_path_factory) -> dict:
    folder = str(tmp_path_factory.mktemp('hostile'))
    return dict(write_hostile_checkpoints(folder), marker=marker_path(folder))


@pytest.mark.parametrize(
    'entry,name', [('resume', 'top_zip'), ('load_from', 'numpy_object_legacy'), ('test', 'gadget_config_load')]
)
def test_hostile_checkpoint_is_refused_by_the_tools(entry, name, hostile, tmp_path, repo_root, python_exe):
    config = write_toy_config(str(tmp_path / 'toy.py'), str(tmp_path / 'work'), max_epochs=1)
    path = hostile[name]
    if entry == 'resume':
        run = run_tool(repo_root, python_exe, 'train.py', config, '--resume', path)
    elif entry == 'load_from':
        run = run_tool(repo_root, python_exe, 'train.py', config, '--cfg-options', f'load_from={path}')
    else:
        run = run_tool(repo_root, python_exe, 'test.py', config, path)
    assert run.returncode != 0
    assert not osp.exists(hostile['marker']), f'{name}: the payload ran through {entry}'
    assert path in run.stderr and ('refused' in run.stderr or 'not plain data' in run.stderr), run.stderr[-2000:]
    assert '--trust-pickle' in run.stderr or 'plants attributes' in run.stderr
    assert not osp.exists(tmp_path / 'work' / 'epoch_1.pth')  # nothing trained


def test_genuine_checkpoint_tests_and_a_symlinked_dump_stays_a_symlink(tmp_path, repo_root, python_exe):
    config = write_toy_config(str(tmp_path / 'toy.py'), str(tmp_path / 'work'), max_epochs=1)
    run = run_tool(repo_root, python_exe, 'train.py', config)
    assert run.returncode == 0, run.stderr[-3000:]
    real = tmp_path / 'elsewhere' / 'metrics.json'
    real.parent.mkdir()
    real.write_text('{}')
    link = tmp_path / 'metrics.json'
    link.symlink_to(real)
    run = run_tool(repo_root, python_exe, 'test.py', config, str(tmp_path / 'work' / 'epoch_1.pth'), '--out', str(link))
    assert run.returncode == 0, run.stderr[-3000:]
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert 'mae' in json.loads(real.read_text())


@pytest.mark.parametrize('entry', ['test', 'load_from'])
def test_a_checkpoint_of_another_model_is_refused(entry, tmp_path, repo_root, python_exe):
    """A plain checkpoint whose tensors are not this model's: refused with what it holds, nothing evaluated."""
    import torch

    other = tmp_path / 'resnet.pth'
    state = {'conv1.weight': torch.zeros(8, 3, 7, 7), 'fc.weight': torch.zeros(10, 8)}  # not the toy model's keys
    torch.save({'state_dict': state, 'meta': {}}, other)
    config = write_toy_config(str(tmp_path / 'toy.py'), str(tmp_path / 'work'), max_epochs=1)
    if entry == 'test':
        run = run_tool(repo_root, python_exe, 'test.py', config, str(other), '--out', str(tmp_path / 'm.json'))
    else:
        run = run_tool(repo_root, python_exe, 'train.py', config, '--cfg-options', f'load_from={other}')
    assert run.returncode != 0
    assert 'does not hold' in run.stderr and 'tensors are missing' in run.stderr, run.stderr[-2000:]
    assert not (tmp_path / 'm.json').exists() and not (tmp_path / 'work' / 'epoch_1.pth').exists()
