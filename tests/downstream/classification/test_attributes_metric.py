"""MeanAttributeAccuracy against an independent count, against mmpretrain's own thresholding (the multi-label
head's pred_label and MultiLabelMetric's per-class counts), and the facer project's import of it."""

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmpretrain.evaluation import MultiLabelMetric
from mmpretrain.models.heads import MultiLabelLinearClsHead
from mmpretrain.structures import DataSample

import mcf_mm.downstream.classification  # noqa: F401
from mcf_mm.downstream.classification.metrics.attributes import MeanAttributeAccuracy
from mcf_mm.registry import METRICS


def _samples(scores: np.ndarray, labels: np.ndarray) -> list:
    """Data samples as the evaluator gets them: pred_score [C], gt_label = indices of the 1s."""
    return [
        dict(pred_score=torch.as_tensor(s, dtype=torch.float32), gt_label=torch.as_tensor(np.flatnonzero(y)))
        for s, y in zip(scores, labels)
    ]


def _independent(scores: np.ndarray, labels: np.ndarray, thr: float = 0.5) -> list:
    """Per attribute: (number of images where [score >= thr] equals the label) / number of images, in percent."""
    m, c = labels.shape
    out = []
    for j in range(c):
        right = sum(1 for i in range(m) if (scores[i, j] >= thr) == bool(labels[i, j]))
        out.append(100.0 * right / m)
    return out


@pytest.mark.parametrize('thr', [0.5, 0.3])
def test_against_an_independent_count(thr):
    rng = np.random.default_rng(0)
    scores = rng.uniform(size=(37, 6))
    scores[3, 2] = thr  # a tie counts as positive
    labels = rng.integers(0, 2, size=(37, 6))
    names = [f'a{j}' for j in range(6)]
    metric = METRICS.build(dict(type='MeanAttributeAccuracy', thr=thr, attribute_names=names))
    metric.process(None, _samples(scores, labels))
    out = metric.compute_metrics(metric.results)
    want = _independent(scores, labels, thr)
    assert out['mean_accuracy'] == pytest.approx(sum(want) / len(want), abs=1e-9)
    for n, w in zip(names, want):
        assert out[f'acc_{n}'] == pytest.approx(w, abs=1e-9)


def test_names_come_from_the_dataset_meta_through_the_evaluator():
    rng = np.random.default_rng(1)
    scores, labels = rng.uniform(size=(10, 3)), rng.integers(0, 2, size=(10, 3))
    evaluator = Evaluator(MeanAttributeAccuracy())
    evaluator.dataset_meta = dict(classes=('Smiling', 'Male', 'Young'))
    evaluator.process(_samples(scores, labels))
    out = evaluator.evaluate(10)
    want = _independent(scores, labels)
    assert out['attr/acc_Male'] == pytest.approx(want[1])
    assert out['attr/mean_accuracy'] == pytest.approx(np.mean(want))


def test_the_threshold_is_the_multi_label_heads():
    """The metric's positives are exactly the labels mmpretrain's MultiLabelLinearClsHead predicts."""
    torch.manual_seed(0)
    head = MultiLabelLinearClsHead(num_classes=5, in_channels=4, thr=0.5)
    with torch.no_grad():
        head.fc.bias[2] = 0.0
        head.fc.weight[2] = 0.0  # attribute 2: score exactly 0.5 for every image
    feats = (torch.randn(8, 4),)
    labels = np.random.default_rng(2).integers(0, 2, size=(8, 5))
    preds = head.predict(feats, [DataSample().set_gt_label(list(np.flatnonzero(y))) for y in labels])
    pred_onehot = np.zeros((8, 5), dtype=bool)
    for i, p in enumerate(preds):
        pred_onehot[i, p.pred_label.numpy()] = True
    assert pred_onehot[:, 2].all()
    metric = MeanAttributeAccuracy(attribute_names=list('abcde'))
    metric.process(None, [p.to_dict() for p in preds])
    out = metric.compute_metrics(metric.results)
    want = 100.0 * (pred_onehot == labels.astype(bool)).mean(0)
    assert [out[f'acc_{n}'] for n in 'abcde'] == pytest.approx(list(want))


def test_multilabel_metric_reports_no_accuracy_but_agrees_where_it_is_recoverable():
    """mmpretrain's MultiLabelMetric gives precision / recall / F1 / support per class, not accuracy. Where a
    class has true positives, its counts give accuracy back; they match ours (same >= thr rule)."""
    rng = np.random.default_rng(3)
    m = 50
    scores, labels = rng.uniform(size=(m, 4)), rng.integers(0, 2, size=(m, 4))
    p, r, _, support = MultiLabelMetric.calculate(
        torch.as_tensor(scores), torch.as_tensor(labels), pred_indices=False, target_indices=False, average=None
    )
    ours = MeanAttributeAccuracy(attribute_names=list('abcd'))
    ours.process(None, _samples(scores, labels))
    out = ours.compute_metrics(ours.results)
    metric = MultiLabelMetric(thr=0.5, average=None)
    samples = [dict(pred_score=torch.as_tensor(s), gt_score=torch.as_tensor(y)) for s, y in zip(scores, labels)]
    metric.process(None, samples)
    keys = set(metric.compute_metrics(metric.results))
    assert not any('acc' in k for k in keys), keys
    for j, n in enumerate('abcd'):
        tp = round(float(r[j]) / 100 * float(support[j]))  # counts back from float32 percentages
        assert tp > 0
        fp = round(tp / (float(p[j]) / 100)) - tp
        fn = int(support[j]) - tp
        tn = m - tp - fp - fn
        assert out[f'acc_{n}'] == pytest.approx(100 * (tp + tn) / m, abs=1e-9)


def test_errors():
    with pytest.raises(ValueError, match='threshold on sigmoid scores'):
        MeanAttributeAccuracy(thr=1.5)
    metric = MeanAttributeAccuracy(attribute_names=['a', 'b'])
    metric.process(None, _samples(np.full((2, 3), 0.7), np.ones((2, 3), dtype=int)))
    with pytest.raises(ValueError, match='2 attribute names for 3 scores'):
        metric.compute_metrics(metric.results)


def test_the_facer_project_uses_the_core_metric():
    import os.path as osp
    import sys

    root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    sys.path.insert(0, root)
    try:
        from projects.facer_attribute_head.facer_attr import MeanAttributeAccuracy as ProjectMetric
    finally:
        sys.path.remove(root)
    assert ProjectMetric is MeanAttributeAccuracy
    assert METRICS.get('MeanAttributeAccuracy') is MeanAttributeAccuracy
