"""Face F1: one confusion matrix over the test set, mean over classes without background."""

import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.evaluation import IoUMetric
from mmseg.structures import SegDataSample

from mcf_mm.downstream.parsing.metrics import FaceF1Metric

CLASSES = ('background', 'skin', 'nose', 'eye', 'mouth', 'hair')


def _samples(seed: int, n: int = 4):
    rng = np.random.RandomState(seed)
    out = []
    for i in range(n):
        h, w = 20 + i, 30 - i  # different image sizes, as at original resolution
        gt = rng.randint(0, len(CLASSES), size=(h, w))
        pred = np.where(rng.rand(h, w) < 0.6, gt, rng.randint(0, len(CLASSES), size=(h, w)))
        gt[rng.rand(h, w) < 0.05] = 255  # ignored pixels
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None])
        s.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None])
        out.append(s.to_dict())
    return out


def _independent_f1(samples) -> np.ndarray:
    conf = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    for s in samples:
        gt = s['gt_sem_seg']['data'].numpy().ravel()
        pred = s['pred_sem_seg']['data'].numpy().ravel()
        for g, p in zip(gt, pred):
            if g != 255:
                conf[g, p] += 1
    f1 = []
    for c in range(len(CLASSES)):
        tp = conf[c, c]
        fp = conf[:, c].sum() - tp
        fn = conf[c, :].sum() - tp
        f1.append(2 * tp / (2 * tp + fp + fn))
    return np.array(f1)


def _run(metric, samples, batch=2):
    for i in range(0, len(samples), batch):
        metric.process({}, samples[i : i + batch])
    return metric.compute_metrics(metric.results)


def test_f1_equals_independent_confusion_matrix_and_excludes_background():
    samples = _samples(0)
    metric = FaceF1Metric(background_index=0)
    metric.dataset_meta = dict(classes=CLASSES)
    res = _run(metric, samples)
    f1 = _independent_f1(samples)
    for name, value in zip(CLASSES, f1):
        assert res[f'F1.{name}'] == pytest.approx(value * 100, abs=1e-9)
    assert res['mF1'] == pytest.approx(f1[1:].mean() * 100, abs=1e-9)
    # one matrix over the set, not a mean of per-image F1s
    per_image = np.mean([_independent_f1([s])[1:].mean() for s in samples]) * 100
    assert abs(res['mF1'] - per_image) > 1e-6


def test_differs_from_mmseg_mfscore_exactly_by_the_background_term():
    samples = _samples(1)
    metric = FaceF1Metric(background_index=0)
    metric.dataset_meta = dict(classes=CLASSES)
    res = _run(metric, samples)
    areas = [
        IoUMetric.intersect_and_union(
            s['pred_sem_seg']['data'].squeeze(0), s['gt_sem_seg']['data'].squeeze(0), len(CLASSES), 255
        )
        for s in samples
    ]
    totals = [sum(a[k] for a in areas) for k in range(4)]  # torch tensors, as mmseg expects
    mm = IoUMetric.total_area_to_metrics(*totals, metrics=['mFscore'])
    mm_mean = float(np.nanmean(mm['Fscore'])) * 100  # mmseg's mFscore, background included
    k = len(CLASSES)
    # mmseg counts in float32, hence the 1e-4 tolerance
    assert res['mF1'] * (k - 1) + res['F1.background'] == pytest.approx(mm_mean * k, abs=1e-4)
    assert res['mF1'] != pytest.approx(mm_mean, abs=1e-3)
    # with background kept, the two coincide
    keep_all = FaceF1Metric(background_index=None)
    keep_all.dataset_meta = dict(classes=CLASSES)
    assert _run(keep_all, samples)['mF1'] == pytest.approx(mm_mean, abs=1e-4)


def test_shape_mismatch_is_a_clear_error():
    s = _samples(2, n=1)[0]
    s['pred_sem_seg']['data'] = s['pred_sem_seg']['data'][:, :5]
    metric = FaceF1Metric()
    metric.dataset_meta = dict(classes=CLASSES)
    with pytest.raises(ValueError, match='original resolution'):
        metric.process({}, [s])


def _samples_without(absent_class: int, seed: int = 3):
    """Samples whose labels and predictions never contain ``absent_class`` (relabelled to background)."""
    out = _samples(seed)
    for s in out:
        for key in ('gt_sem_seg', 'pred_sem_seg'):
            d = s[key]['data']
            d[d == absent_class] = 0
    return out


def test_absent_class_is_skipped_and_counted_by_default():
    samples = _samples_without(absent_class=2)
    metric = FaceF1Metric()
    metric.dataset_meta = dict(classes=CLASSES)
    res = _run(metric, samples)
    # Independent: per-class F1 over the pooled pixels of the classes that occur, background and class 2 left out.
    f1 = []
    for c in (1, 3, 4, 5):
        gt = np.concatenate([s['gt_sem_seg']['data'].numpy().ravel() for s in samples])
        pred = np.concatenate([s['pred_sem_seg']['data'].numpy().ravel() for s in samples])
        valid = gt != 255
        g, p = gt[valid] == c, pred[valid] == c
        f1.append(2 * (g & p).sum() / (g.sum() + p.sum()))
    assert res['mF1.num_classes'] == 4
    assert res['mF1'] == pytest.approx(np.mean(f1) * 100, abs=1e-9)
    assert np.isnan(res['F1.nose'])


def test_farl_absent_policy_gives_nan_like_its_scorer():
    """FaRL: f1 = 2 I / (A + B) per class (0 / 0 -> NaN), fg mean = sum / number of foreground classes."""
    samples = _samples_without(absent_class=2)
    metric = FaceF1Metric(absent='nan')
    metric.dataset_meta = dict(classes=CLASSES)
    res = _run(metric, samples)
    assert res['mF1.num_classes'] == len(CLASSES) - 1 and np.isnan(res['mF1'])
    # With every class present both policies agree, and average all foreground classes.
    full = _samples(0)
    for absent in ('skip', 'nan'):
        metric = FaceF1Metric(absent=absent)
        metric.dataset_meta = dict(classes=CLASSES)
        res = _run(metric, full)
        assert res['mF1.num_classes'] == len(CLASSES) - 1
        assert res['mF1'] == pytest.approx(_independent_f1(full)[1:].mean() * 100, abs=1e-9)


def test_bad_absent_policy_names_the_choices():
    with pytest.raises(ValueError, match="'skip', 'nan'"):
        FaceF1Metric(absent='zero')


def test_reproduction_configs_use_farls_absent_policy():
    import glob
    import os.path as osp

    from mmengine.config import Config

    root = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', '..', 'configs', 'face_parsing')
    for path in glob.glob(osp.join(root, 'vit-*.py')):
        cfg = Config.fromfile(path)
        want = 'nan' if osp.basename(path).startswith('vit-base-p16_') else 'skip'
        for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
            assert evaluator.get('absent', 'skip') == want, path
