"""FaceRegressionHead (loss and predict, standardised targets, inside mmpretrain's ImageClassifier), RegressionLoss
and RegressionMAE (periodic errors, the |gt| filter) against computations written here; mmpretrain's macro recall
is the mean class accuracy."""

import math

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

import mcf_mm.downstream.classification  # noqa: F401
from mcf_fixtures.tiny import TINY_ARCH
from mcf_mm.downstream.classification.heads import FaceRegressionHead, RegressionLoss
from mcf_mm.downstream.classification.metrics.regression import RegressionMAE
from mcf_mm.registry import METRICS, MODELS


def sample(**fields) -> DataSample:
    """A DataSample with data fields (mmengine's set_field returns None, so no chaining)."""
    s = DataSample()
    for key, value in fields.items():
        s.set_field(value, key)
    return s


def samples(values) -> list:
    return [sample(gt_value=np.asarray(v, dtype=np.float32)) for v in values]


def test_head_loss_and_predict_with_standardised_targets():
    torch.manual_seed(0)
    mean, std = [30.0, -2.0], [20.0, 5.0]
    head = FaceRegressionHead(in_channels=8, num_outputs=2, target_mean=mean, target_std=std)
    head.init_weights()
    feats = torch.randn(5, 8)
    y = torch.tensor([[10.0, 1.0], [40.0, -3.0], [25.0, 0.0], [70.0, 4.0], [1.0, -9.0]])
    out = feats @ head.fc.weight.T + head.fc.bias  # [5, 2]
    z = (y - torch.tensor(mean)) / torch.tensor(std)
    loss = head.loss((feats,), samples(y.numpy()))['loss']
    assert loss.item() == pytest.approx((out - z).abs().mean().item(), rel=1e-6)
    loss.backward()
    assert head.fc.weight.grad is not None and head.fc.weight.grad.abs().sum() > 0
    pred = head.predict((feats,), samples(y.numpy()))
    expected = out.detach() * torch.tensor(std) + torch.tensor(mean)
    for s, e in zip(pred, expected):
        assert s.pred_value.shape == (2,)
        assert torch.allclose(s.pred_value, e, atol=1e-5)
    assert all(isinstance(s, DataSample) for s in head.predict((feats,)))


def test_head_without_standardisation_predicts_the_raw_output():
    head = FaceRegressionHead(in_channels=4, num_outputs=1)
    feats = torch.randn(3, 4)
    out = head.fc(feats).detach()
    assert torch.equal(torch.stack([s.pred_value for s in head.predict((feats,))]), out)
    assert torch.equal(head.target_mean, torch.zeros(1)) and torch.equal(head.target_std, torch.ones(1))


def test_head_errors():
    with pytest.raises(ValueError, match='both'):
        FaceRegressionHead(in_channels=4, target_mean=1.0)
    with pytest.raises(ValueError, match='target_std'):
        FaceRegressionHead(in_channels=4, target_mean=0.0, target_std=0.0)
    with pytest.raises(ValueError, match='3 values'):
        FaceRegressionHead(in_channels=4, num_outputs=2, target_mean=[0, 0, 0], target_std=1.0)
    head = FaceRegressionHead(in_channels=4)
    with pytest.raises(KeyError, match="algorithm_keys=\\('gt_value',\\)"):
        head.loss((torch.randn(2, 4),), [DataSample().set_gt_label(1), DataSample().set_gt_label(0)])
    with pytest.raises(ValueError, match='avg_featmap'):
        head((torch.randn(2, 5, 4),))


@pytest.mark.parametrize('criterion', ['l1', 'smooth_l1', 'l2'])
def test_regression_loss_formulas(criterion):
    torch.manual_seed(1)
    pred, target = torch.randn(6, 3) * 2, torch.randn(6, 3)
    d = (pred - target).abs()
    beta = 0.5
    expected = {
        'l1': d.mean(),
        'smooth_l1': torch.where(d < beta, 0.5 * d**2 / beta, d - 0.5 * beta).mean(),
        'l2': (d**2).mean(),
    }[criterion]
    loss = RegressionLoss(criterion=criterion, beta=beta, loss_weight=2.0)(pred, target, avg_factor=6)
    assert loss.item() == pytest.approx(2.0 * expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match='criterion'):
        RegressionLoss(criterion='huber')


def test_head_inside_mmpretrain_image_classifier():
    """ImageClassifier.loss / predict call the head with (feats, data_samples) as mmpretrain's ClsHead."""
    with DefaultScope.overwrite_default_scope('mcf_mm'):
        model = MODELS.build(
            dict(
                type='ImageClassifier',
                data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0.0] * 3, std=[255.0] * 3),
                backbone=dict(type='FaceViT', arch=TINY_ARCH, img_size=32, patch_size=8, out_type='avg_featmap'),
                head=dict(
                    type='FaceRegressionHead', in_channels=TINY_ARCH['embed_dims'], target_mean=30.0, target_std=20.0
                ),
            )
        )
    model.init_weights()
    data = dict(
        inputs=[torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8) for _ in range(2)],
        data_samples=samples([[20.0], [50.0]]),
    )
    batch = model.data_preprocessor(data, training=True)
    losses = model(**batch, mode='loss')
    feat = model.extract_feat(batch['inputs'])[-1]  # [2, 32]
    z = (torch.tensor([[20.0], [50.0]]) - 30.0) / 20.0
    assert losses['loss'].item() == pytest.approx((model.head.fc(feat) - z).abs().mean().item(), rel=1e-5)
    model.eval()
    with torch.no_grad():
        feat = model.extract_feat(batch['inputs'])[-1]
        preds = model(**batch, mode='predict')
    assert torch.allclose(torch.stack([p.pred_value for p in preds]), model.head.fc(feat) * 20.0 + 30.0, atol=1e-5)
    assert [p.gt_value.tolist() for p in preds] == [[20.0], [50.0]]


def reference_mae(pred: np.ndarray, gt: np.ndarray, period, max_abs):
    """Per-column MAE written out sample by sample."""
    kept = [i for i in range(len(gt)) if max_abs is None or all(abs(g) <= max_abs for g in gt[i])]
    maes = []
    for j in range(gt.shape[1]):
        errs = []
        for i in kept:
            d = abs(float(pred[i, j]) - float(gt[i, j]))
            if period is not None:
                while d >= period:
                    d -= period
                d = min(d, period - d)
            errs.append(d)
        maes.append(sum(errs) / len(errs))
    return maes, len(kept)


@pytest.mark.parametrize('period,max_abs', [(None, None), (360.0, None), (360.0, 99.0), (None, 99.0)])
def test_mae_matches_the_reference(period, max_abs):
    rng = np.random.default_rng(0)
    gt = rng.uniform(-120, 120, (50, 3))
    pred = gt + rng.normal(0, 40, (50, 3))
    pred[0] = [179.0, -170.0, 10.0]  # wraps: errors 2, 20 (+ gt 0 row)
    gt[0] = [-179.0, 170.0, 0.0]
    names = ['yaw', 'pitch', 'roll']
    evaluator = Evaluator(METRICS.build(dict(type='RegressionMAE', names=names, period=period, max_abs=max_abs)))
    outs = []
    for p, g in zip(pred, gt):
        outs.append(sample(pred_value=torch.tensor(p), gt_value=g.astype(np.float32)))
    evaluator.process(outs[:20])
    evaluator.process(outs[20:])
    metrics = evaluator.evaluate(50)
    ref, kept = reference_mae(pred, gt.astype(np.float32), period, max_abs)
    assert metrics['num_kept'] == kept and (kept < 50) == (max_abs is not None)
    for name, value in zip(names, ref):
        assert metrics[f'MAE_{name}'] == pytest.approx(value, rel=1e-5)
    assert metrics['MAE'] == pytest.approx(sum(ref) / 3, rel=1e-5)
    if period is not None and max_abs is None:
        assert metrics['MAE_yaw'] < reference_mae(pred, gt.astype(np.float32), None, None)[0][0]


def test_mae_errors():
    with pytest.raises(ValueError, match='distinct'):
        RegressionMAE(names=['a', 'a'])
    with pytest.raises(ValueError, match='periods'):
        RegressionMAE(names=['a', 'b'], period=[360.0])
    metric = RegressionMAE(names=['yaw', 'pitch'])
    with pytest.raises(ValueError, match='2 names'):
        metric.process(None, [dict(pred_value=torch.zeros(1), gt_value=np.zeros(1))])
    with pytest.raises(KeyError, match='pred_value'):
        metric.process(None, [dict(gt_value=np.zeros(2))])
    empty = RegressionMAE(names=['age'], max_abs=10.0)
    with pytest.warns(UserWarning, match='no sample'):
        out = empty.compute_metrics([dict(pred=np.zeros(1), gt=np.full(1, 50.0))])
    assert out['num_kept'] == 0 and math.isnan(out['MAE'])


def test_macro_recall_is_mean_class_accuracy():
    """mmpretrain's SingleLabelMetric(items=('recall',), average='macro') = mean over classes of the fraction of
    that class's samples predicted right (when every class occurs in the ground truth, as in UTKFace's test split)."""
    rng = np.random.default_rng(3)
    gt = np.concatenate([np.arange(5), rng.choice(5, 195, p=[0.55, 0.05, 0.15, 0.15, 0.1])])
    pred = np.where(rng.random(200) < 0.6, gt, rng.integers(0, 5, 200))
    scores = np.eye(5)[pred] * 0.9 + 0.02
    evaluator = Evaluator(
        METRICS.build(dict(type='SingleLabelMetric', items=('recall',), average='macro', prefix='mean-class-accuracy'))
    )
    evaluator.process([DataSample().set_gt_label(int(g)).set_pred_score(torch.tensor(s)) for g, s in zip(gt, scores)])
    per_class = [np.mean(pred[gt == c] == c) for c in range(5)]
    assert evaluator.evaluate(200)['mean-class-accuracy/recall'] == pytest.approx(100 * np.mean(per_class), rel=1e-5)
