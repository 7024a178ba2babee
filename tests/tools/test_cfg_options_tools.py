"""tools/train.py and tools/test.py refuse a mistyped --cfg-options key before building anything."""

import os
import os.path as osp
import subprocess
import sys

import pytest

ENV = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')


@pytest.mark.slow
@pytest.mark.parametrize('tool', ['train', 'test'])
def test_a_typo_stops_the_tool_with_the_closest_key(tool, tiny_config, tiny_teacher, tmp_path, repo_root):
    work = tmp_path / 'work'
    checkpoint = [tiny_teacher] if tool == 'test' else []  # any existing file: nothing may read it
    run = subprocess.run(
        [
            sys.executable,
            osp.join(repo_root, 'tools', f'{tool}.py'),
            tiny_config(),
            *checkpoint,
            '--work-dir',
            str(work),
            '--cfg-options',
            'trian_cfg.max_epochs=1',
            'model.backbone.drop_pth_rate=0.1',
        ],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1
    assert '`train_cfg`' in run.stderr and '`model.backbone.drop_path_rate`' in run.stderr
    assert '+trian_cfg.max_epochs=' in run.stderr  # how to add a key on purpose
    assert not work.exists()  # refused before the runner (and its work_dir, logs, model) existed
