"""tools/visualization/visualize_reconstruction.py: the teacher-feature agreement is the distillation loss in cosine
form, the untrained baseline is the seed's initialisation under the same masks, the losses come from the run's log."""

import json
import os
import os.path as osp
import runpy
import subprocess
import sys

import cv2
import pytest
import torch

from mcf_mm.models.losses.mcf_losses import feature_distill_loss

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'visualization', 'visualize_reconstruction.py')


@pytest.fixture(scope='module')
def tool():
    return runpy.run_path(TOOL, run_name='visualize_reconstruction')


@pytest.mark.parametrize('norm_dim, axis', [('token', 1), ('channel', 2)])
def test_agreement_is_the_distillation_loss_as_a_cosine(tool, norm_dim, axis):
    torch.manual_seed(0)
    real = [torch.randn(3, 17, 8), torch.randn(3, 17, 8)]  # per layer [N, T, D]
    pseudo = [real[0] + 0.5 * torch.randn(3, 17, 8), torch.randn(3, 17, 8)]
    feats = {'real': real, 'pseudo': pseudo}

    def teacher(img):  # a stand-in teacher: the "image" names its features
        return feats[img]

    agreement = tool['teacher_agreement'](teacher, 'real', 'pseudo', norm_dim)
    length = real[0].shape[axis]
    for layer, cos in enumerate(agreement):
        # MSE of the L2-normalised features (MCF's loss term) = (2 - 2 cos) / (length of the normalised axis)
        loss = feature_distill_loss([pseudo[layer]], [real[layer]], norm_dim)
        assert loss.item() == pytest.approx((2 - 2 * cos) / length, rel=1e-5)
    assert agreement[0] > 0.5 > abs(agreement[1])  # a noisy copy agrees, an unrelated tensor does not
    assert tool['teacher_agreement'](teacher, 'real', 'real', norm_dim) == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match='norm_dim'):
        tool['teacher_agreement'](teacher, 'real', 'pseudo', 'pixel')


def test_untrained_baseline_and_log_losses(tool, tmp_path, tiny_teacher, face_folder):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mcf_fixtures.tiny import tiny_overrides

    cfg_path = tmp_path / 'tiny_mcf.py'
    cfg_path.write_text(tiny_overrides(tiny_teacher, face_folder))
    cfg = Config.fromfile(str(cfg_path))
    init_default_scope('mcf_mm')
    # a checkpoint holding exactly the untrained model of seed 3: both rows must then agree to the last digit
    model = tool['build_model'](cfg, None, 3)
    run = tmp_path / 'run'
    os.makedirs(run / '20260101_000000' / 'vis_data')
    ckpt = str(run / 'epoch_1.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    records = [
        {'loss': 40.0, 'loss_mim': 39.0, 'loss_contrast': 1.0, 'lr': 1e-3, 'iter': 1, 'step': 1},
        {'loss': 30.0, 'loss_mim': 29.2, 'loss_contrast': 0.8, 'lr': 1e-3, 'iter': 2, 'step': 2},
    ]
    with open(run / '20260101_000000' / 'vis_data' / 'scalars.json', 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)
    out = tmp_path / 'recon.png'
    proc = subprocess.run(
        [sys.executable, TOOL, str(cfg_path), ckpt, '--num', '4', '--seed', '3', '--out', str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'colour noise is expected' in proc.stdout
    summary = json.load(open(tmp_path / 'recon.json'))
    agreement = summary['agreement']
    assert agreement['trained model, pseudo image'] == agreement['untrained model, pseudo image']
    assert summary['teacher_blocks'] == list(cfg.model.target_generator.out_indices)
    assert all(-1.0 <= v <= 1.0 for vs in agreement.values() for v in vs)
    assert summary['losses'] == {
        k: dict(first=records[0][k], last=records[1][k], first_iter=1, last_iter=2)
        for k in ('loss', 'loss_mim', 'loss_contrast')
    }  # lr is no loss
    assert summary['images'] == 4 and cv2.imread(str(out)) is not None


def test_missing_checkpoint_is_refused(tmp_path):
    proc = subprocess.run(
        [sys.executable, TOOL, 'any.py', str(tmp_path / 'none.pth')], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode != 0 and 'checkpoint not found' in proc.stderr
