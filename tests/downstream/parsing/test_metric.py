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
