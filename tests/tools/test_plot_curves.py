"""tools/analysis_tools/plot_curves.py: mmengine's scalars.json -> one PNG per key; runs merged in time order."""

import json
import os
import os.path as osp
import runpy
import subprocess
import sys

import cv2
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'plot_curves.py')


@pytest.fixture(scope='module')
def tool():
    return runpy.run_path(TOOL, run_name='plot_curves')


def _write_run(work_dir: str, stamp: str, records) -> str:
    folder = osp.join(work_dir, stamp, 'vis_data')
    os.makedirs(folder, exist_ok=True)
    path = osp.join(folder, 'scalars.json')
    with open(path, 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)
    return path


def _train(it, loss, lr=0.1):
    return {'lr': lr, 'loss': loss, 'time': 0.5, 'epoch': 1 + it // 10, 'iter': it, 'step': it}


@pytest.fixture
def work_dir(tmp_path):
    """A run of 3 logged iterations and an evaluation, then its resumption from iteration 20 (a newer folder)."""
    wd = str(tmp_path / 'run')
    _write_run(wd, '20260101_000000', [_train(10, 1.0), _train(20, 0.8), {'NME': 9.0, 'step': 1}, _train(30, 0.9)])
    _write_run(wd, '20260101_010000', [_train(30, 0.6), _train(40, 0.5), {'NME': 7.5, 'step': 2}])
    return wd


def test_read_scalars_merges_runs_and_splits_train_from_evaluation(tool, work_dir):
    curves = tool['read_scalars'](work_dir)
    # iteration 30 was logged again after the resumption: the newer value wins
    assert curves['train']['loss'] == ([10.0, 20.0, 30.0, 40.0], [1.0, 0.8, 0.6, 0.5])
    assert curves['val']['NME'] == ([1.0, 2.0], [9.0, 7.5])
    assert set(curves['train']) == {'lr', 'loss', 'time'}  # epoch / iter / step are axes, not curves
    one_file = tool['read_scalars'](osp.join(work_dir, '20260101_000000', 'vis_data', 'scalars.json'))
    assert one_file['train']['loss'] == ([10.0, 20.0, 30.0], [1.0, 0.8, 0.9])


def test_cli_writes_one_png_per_key_and_overlays_runs(work_dir, tmp_path):
    other = str(tmp_path / 'other')
    _write_run(other, '20260102_000000', [_train(10, 2.0), _train(20, 1.5)])
    out = tmp_path / 'curves'
    proc = subprocess.run(
        [sys.executable, TOOL, work_dir, other, '--out-dir', str(out), '--legend', 'A', 'B'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(out)) == ['NME.png', 'loss.png', 'lr.png', 'time.png']
    img = cv2.imread(str(out / 'loss.png'))
    assert img is not None and img.shape == (400, 600, 3)  # 6 x 4 inches at 100 dpi


def test_bad_inputs_are_named(tool, work_dir, tmp_path):
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no scalars.json below'):
        tool['read_scalars'](str(tmp_path / 'empty'))
    with pytest.raises(FileNotFoundError, match='no such log file'):
        tool['read_scalars'](str(tmp_path / 'missing'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{"loss": 1, "iter": 1}\nnot json\n')
    with pytest.raises(ValueError, match='bad.json:2 is not a JSON record'):
        tool['read_scalars'](str(bad))
    with pytest.raises(ValueError, match=r"keys \['acc'\] are not in the logs"):
        tool['plot_curves']([work_dir], str(tmp_path / 'o'), keys=['acc'])
    with pytest.raises(ValueError, match='one label per input'):
        tool['plot_curves']([work_dir], str(tmp_path / 'o'), labels=['a', 'b'])
    proc = subprocess.run([sys.executable, TOOL, str(tmp_path / 'missing')], capture_output=True, text=True)
    assert proc.returncode != 0 and 'error: no such log file' in proc.stderr
