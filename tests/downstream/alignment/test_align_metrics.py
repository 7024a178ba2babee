"""Face alignment metric: NME per normaliser vs hand computation; AUC/FR vs explicit integration."""

import numpy as np
import pytest
from scipy.integrate import simpson

from mcf_fixtures.alignment import tiny_helen_cfg
from mcf_mm.downstream.alignment.metrics import (
    FaceAlignmentMetric,
    ced_auc_fr,
    ced_grid,
    face_nme,
    normalizing_distance,
)


def _two_faces():
    gt = np.array([[[0.0, 0.0], [4.0, 0.0], [0.0, 3.0]], [[10.0, 10.0], [20.0, 10.0], [10.0, 20.0]]])  # [2, 3, 2]
    pred = gt.copy()
    pred[0, 0] += [3.0, 4.0]  # error 5 on point 0 of face 0
    pred[1, 1] += [0.0, 2.0]  # error 2 on point 1 of face 1
    pred[1, 2] += [1.0, 0.0]  # error 1 on point 2 of face 1
    box = np.array([[0.0, 0.0, 4.0, 9.0], [10.0, 10.0, 13.0, 14.0]])  # w,h = (4, 9) and (3, 4)
    return pred, gt, box


def test_nme_per_normaliser_matches_hand_computation():
    pred, gt, box = _two_faces()
    metric = FaceAlignmentMetric(normalizers=dict(box='box', diag='diag', io=(0, 1), pupil=([0, 2], [1])))
    out = metric.evaluate_arrays(pred, gt, box)
    # face 0: mean error 5/3; face 1: mean error 3/3 = 1
    assert out['NME_box'] == pytest.approx(100 * ((5 / 3) / 6 + 1 / np.sqrt(12)) / 2)
    assert out['NME_diag'] == pytest.approx(100 * ((5 / 3) / np.sqrt(97) + 1 / 5) / 2)
    assert out['NME_io'] == pytest.approx(100 * ((5 / 3) / 4 + 1 / 10) / 2)
    # pupil groups: mean of points 0 and 2 vs point 1: face 0 (0, 1.5) vs (4, 0) -> sqrt(16 + 2.25)
    d0 = np.hypot(4, 1.5)
    d1 = np.hypot(20 - 10, 10 - 15)  # face 1: (10, 15) vs (20, 10)
    assert out['NME_pupil'] == pytest.approx(100 * ((5 / 3) / d0 + 1 / d1) / 2)


def test_visibility_is_ignored_and_all_points_count():
    pred, gt, _ = _two_faces()
    d = np.array([1.0, 1.0])
    np.testing.assert_allclose(face_nme(pred, gt, d), [5 / 3, 1.0])


def _simpson_by_hand(y, h):
    n = len(y) - 1
    assert n % 2 == 0
    w = np.ones(n + 1)
    w[1:-1:2], w[2:-1:2] = 4, 2
    return h / 3 * np.dot(w, y)


@pytest.mark.parametrize('threshold', [0.07, 0.10])
def test_auc_fr_match_explicit_integration(threshold):
    rng = np.random.default_rng(0)
    nme = rng.uniform(0, 0.12, size=50)
    auc, fr = ced_auc_fr(nme, threshold)
    xs = np.arange(int(round(threshold / 1e-4)) + 1) * 1e-4
    ced = np.array([(nme <= x).mean() for x in xs])
    assert auc == pytest.approx(_simpson_by_hand(ced, 1e-4) / threshold, abs=1e-12)
    # the exact area under the step CED: mean over faces of (t - nme)+, divided by t
    exact = np.clip(threshold - nme, 0, None).mean() / threshold
    assert auc == pytest.approx(exact, abs=2e-3)
    assert fr == pytest.approx((nme > threshold).mean())


def _farl_auc_fr(nmes, threshold, step=1e-4):
    """FaRL's AUC/FR scorer, written from its code: arange grid, CED by count_nonzero, scipy Simpson / t."""
    xs = np.arange(0, threshold + step, step)
    ys = np.array([np.count_nonzero(nmes <= x) for x in xs]) / float(len(nmes))
    return simpson(ys, x=xs) / threshold, 1.0 - ys[-1]


# float arange: at 0.07 the grid ends one step past t (0.0701), at 0.10 it stops at t (1001 points)
@pytest.mark.parametrize('threshold,points,past', [(0.07, 702, 1), (0.10, 1001, 0)])
def test_farl_grid_matches_farl_scorer(threshold, points, past):
    rng = np.random.default_rng(1)
    nme = np.concatenate([rng.uniform(0, 0.12, size=60), [threshold + 0.5e-4]])  # one face just past t
    assert len(ced_grid(threshold, grid='farl')) == points
    auc, fr = ced_auc_fr(nme, threshold, grid='farl')
    ref_auc, ref_fr = _farl_auc_fr(nme, threshold)
    assert abs(auc - ref_auc) <= 1e-9 and abs(fr - ref_fr) <= 1e-12
    # at 0.07 the face at t + 0.5e-4 fails on the closed grid but not on FaRL's (last point t + 1e-4)
    assert ced_auc_fr(nme, threshold)[1] == pytest.approx(fr + past / len(nme))
    metric = FaceAlignmentMetric(normalizers=dict(d=(0, 1)), ced=[('d', threshold)], auc_grid='farl')
    assert metric.auc_grid == 'farl'


def test_unknown_auc_grid_is_refused():
    with pytest.raises(ValueError, match="auc_grid 'open'"):
        FaceAlignmentMetric(normalizers=dict(box='box'), auc_grid='open')


def test_perfect_and_failed_predictions():
    assert ced_auc_fr(np.zeros(4), 0.1) == pytest.approx((1.0, 0.0))
    assert ced_auc_fr(np.full(4, 0.5), 0.1) == pytest.approx((0.0, 1.0))


def test_subsets_evaluated_in_one_run_and_keys_name_normaliser():
    pred, gt, box = _two_faces()
    metric = FaceAlignmentMetric(normalizers=dict(box='box'), ced=[('box', 0.07)], subsets=('frontal',))
    samples = [
        dict(
            pred_instances=dict(keypoints=pred[i : i + 1]),
            gt_instances=dict(keypoints=gt[i : i + 1], bboxes=box[i : i + 1]),
            subsets=['frontal'] if i == 1 else [],
        )
        for i in range(2)
    ]
    metric.process([], samples)
    out = metric.compute_metrics(metric.results)
    assert set(out) == {
        'NME_box',
        'AUC_box@0.07',
        'FR_box@0.07',
        'frontal/NME_box',
        'frontal/AUC_box@0.07',
        'frontal/FR_box@0.07',
        'num_faces',
    }
    assert out['frontal/NME_box'] == pytest.approx(100 / np.sqrt(12))
    nme = np.array([(5 / 3) / 6, 1 / np.sqrt(12)])
    auc, fr = ced_auc_fr(nme, 0.07)
    assert out['AUC_box@0.07'] == pytest.approx(100 * auc)
    assert out['FR_box@0.07'] == pytest.approx(100 * fr)


def test_bad_normaliser_names_the_fix():
    with pytest.raises(ValueError, match='not in normalizers'):
        FaceAlignmentMetric(normalizers=dict(box='box'), ced=[('inter_ocular', 0.1)])
    with pytest.raises(ValueError, match='unknown normaliser'):
        normalizing_distance(np.zeros((1, 3, 2)), np.zeros((1, 4)), 'ocular')


def test_malformed_normaliser_is_refused_when_built():
    with pytest.raises(ValueError, match='pair of landmark groups'):
        FaceAlignmentMetric(normalizers=dict(inter_ocular=(36,)))
    with pytest.raises(ValueError, match='negative landmark index -1'):
        FaceAlignmentMetric(normalizers=dict(inter_ocular=(-1, 9)))


def test_indices_are_checked_against_the_point_count_when_the_loop_sets_dataset_meta():
    metric = FaceAlignmentMetric(normalizers=dict(box='box', inter_pupil=([16, 17], [8, 29])))
    metric.dataset_meta = dict(num_keypoints=30)  # indices 0..29: fine
    with pytest.raises(ValueError, match=r'index 29, but the dataset has 29 points \(valid indices 0\.\.28\)'):
        metric.dataset_meta = dict(num_keypoints=29)
    metric = FaceAlignmentMetric(normalizers=dict(inter_ocular=(1, 5)))
    metric.dataset_meta = dict(dataset_name='no count')  # no num_keypoints: checked on the first face instead
    face = dict(
        pred_instances=dict(keypoints=np.zeros((1, 3, 2))),
        gt_instances=dict(keypoints=np.zeros((1, 3, 2)), bboxes=np.array([[0.0, 0.0, 1.0, 1.0]])),
    )
    with pytest.raises(ValueError, match='uses landmark index 5, but the dataset has 3 points'):
        metric.process([], [face])


def test_wrong_indices_stop_a_run_before_its_first_iteration(helen_root, tmp_path, monkeypatch):
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    monkeypatch.setattr(Config, 'pretty_text', property(lambda self: self.text))  # skip yapf (seconds)
    root, _ = helen_root
    cfg = Config(tiny_helen_cfg(root, str(tmp_path / 'work')))
    cfg.val_evaluator.normalizers = dict(inter_ocular=(36, 45))  # 300W's eye corners on Helen-29
    cfg.test_evaluator = cfg.val_evaluator

    class CountIterations(Hook):
        def __init__(self) -> None:
            self.train_iters, self.test_iters = 0, 0

        def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
            self.train_iters += 1

        def before_test_iter(self, runner, batch_idx, data_batch=None) -> None:
            self.test_iters += 1

    runner = Runner.from_cfg(cfg)
    counter = CountIterations()
    runner.register_hook(counter)
    with pytest.raises(
        ValueError,
        match=r'"inter_ocular" uses landmark index 36, but the dataset has 29 points'
        r'.*Set val_evaluator\.normalizers\.inter_ocular',
    ):
        runner.train()
    assert counter.train_iters == 0
    with pytest.raises(ValueError, match='index 36, but the dataset has 29 points'):
        runner.test()
    assert counter.test_iters == 0
    # control: the same run with Helen-29's own eye corners trains and validates
    runner = Runner.from_cfg(Config(tiny_helen_cfg(root, str(tmp_path / 'work_ok'))))
    runner.register_hook(counter)
    runner.train()
    assert counter.train_iters == 2
