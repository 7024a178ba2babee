"""The expression configs' evaluator: mmpretrain's Accuracy (top-1) is the overall accuracy, and
SingleLabelMetric(items=('recall',), average='macro') is the mean class accuracy, both against counts made here."""

import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

import mcf_mm.downstream.classification  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CFG_DIR = osp.join(REPO, 'configs', 'face_classification', 'expression')
CONFIGS = [
    'vit-base-p16_mcf-16e-pre_linear_8xb32-30e_raf-db-224px.py',
    'vit-base-p16_mcf-16e-pre_linear_8xb32-10e_affectnet-7-224px.py',
    'vit-base-p16_mcf-16e-pre_linear_8xb32-10e_affectnet-8-224px.py',
]


def _evaluate(evaluator_cfg, scores: np.ndarray, labels: np.ndarray) -> dict:
    with DefaultScope.overwrite_default_scope('mcf_mm'):
        evaluator = Evaluator(list(evaluator_cfg))
    samples = [
        DataSample().set_pred_score(torch.from_numpy(s)).set_gt_label(int(y)).to_dict() for s, y in zip(scores, labels)
    ]
    evaluator.process(samples)
    return evaluator.evaluate(len(samples))


def _mean_class_accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes in the labels of (correct in the class / images of the class), in percent."""
    return 100 * float(np.mean([np.mean(pred[labels == c] == c) for c in np.unique(labels)]))


def _predictions(num_classes, n, seed, never_predicted=None):
    rng = np.random.default_rng(seed)
    p = np.arange(1, num_classes + 1) ** 2.0
    labels = rng.choice(num_classes, n, p=p / p.sum())  # imbalanced, so the two accuracies differ
    labels[:num_classes] = np.arange(num_classes)  # every class occurs in the labels
    scores = rng.random((n, num_classes)).astype(np.float32)
    scores[np.arange(n), labels] += rng.random(n).astype(np.float32) * 0.8  # better than chance, not perfect
    if never_predicted is not None:
        scores[:, never_predicted] = -1.0
    scores /= np.abs(scores).sum(1, keepdims=True)
    return scores, labels


@pytest.mark.parametrize('name', CONFIGS)
def test_config_metrics_are_accuracy_and_mean_class_accuracy(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    k = cfg.model.head.num_classes
    scores, labels = _predictions(k, 300, seed=k, never_predicted=2)
    pred = scores.argmax(1)
    assert not np.any(pred == 2) and np.any(labels == 2)  # class 2 occurs but is never predicted
    out = _evaluate(cfg.val_evaluator, scores, labels)
    assert out['accuracy/top1'] == pytest.approx(100 * np.mean(pred == labels), abs=1e-4)
    assert out['mean-class-accuracy/recall'] == pytest.approx(_mean_class_accuracy(pred, labels), abs=1e-4)
    assert abs(_mean_class_accuracy(pred, labels) - 100 * np.mean(pred == labels)) > 0.5  # the two differ here
    assert cfg.test_evaluator == cfg.val_evaluator


def test_a_class_absent_from_the_labels_counts_as_zero_recall():
    """mmpretrain's macro recall averages over all num_classes: a class with no test image adds a 0 (the mean
    class accuracy over the classes present is then larger). Every RAF-DB / AffectNet test class has images."""
    cfg = Config.fromfile(osp.join(CFG_DIR, CONFIGS[0]))
    scores, labels = _predictions(7, 200, seed=0)
    keep = labels != 5
    scores, labels = scores[keep], labels[keep]
    pred = scores.argmax(1)
    out = _evaluate(cfg.val_evaluator, scores, labels)
    present = _mean_class_accuracy(pred, labels)  # over 6 classes
    assert out['mean-class-accuracy/recall'] == pytest.approx(present * 6 / 7, abs=1e-4)
