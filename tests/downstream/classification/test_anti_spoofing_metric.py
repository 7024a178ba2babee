"""AntiSpoofingMetric against independent computations: Gaussian score distributions whose EER threshold, FAR,
FRR and AUC have closed forms, a brute-force pairwise AUC, a brute-force threshold scan, per-video averaging."""

import itertools
import math

import numpy as np
import pytest
import torch

import mcf_mm  # noqa: F401
from mcf_mm.downstream.classification.metrics.anti_spoofing import (
    AntiSpoofingMetric,
    eer_threshold,
    far_frr,
    roc_auc,
)
from mcf_mm.registry import METRICS


def phi(x: float) -> float:
    """Standard normal CDF."""
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _samples(scores, labels, domain, videos=None):
    """Data samples as the classifier's predict() packs them: pred_score [attack, live], gt_label, metainfo."""
    videos = videos if videos is not None else [f'{domain}-{i}' for i in range(len(scores))]
    out = []
    for s, y, v in zip(scores, labels, videos):
        live = float(1 / (1 + math.exp(-s)))  # any monotone map of the score keeps every rank statistic
        out.append(dict(pred_score=torch.tensor([1 - live, live]), gt_label=torch.tensor([y]), video=v, domain=domain))
    return out


def _gauss(rng, n, mu_live, mu_att):
    scores = np.concatenate([rng.normal(mu_live, 1, n), rng.normal(mu_att, 1, n)])
    labels = np.concatenate([np.ones(n, int), np.zeros(n, int)])
    return scores, labels


def _sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_gaussian_eer_and_auc_match_closed_forms():
    rng = np.random.default_rng(0)
    s, y = _gauss(rng, 40000, 1.0, -1.0)  # equal variances: EER threshold 0, EER = Phi(-1)
    eer, thr = eer_threshold(s, y)
    assert thr == pytest.approx(0.0, abs=0.03)
    assert eer == pytest.approx(phi(-1.0), abs=0.005)
    assert roc_auc(s, y) == pytest.approx(phi(2 / math.sqrt(2)), abs=0.004)  # AUC = Phi(delta / sqrt(2))


def test_hter_at_the_source_threshold_matches_the_closed_form():
    rng = np.random.default_rng(1)
    src_s, src_y = _gauss(rng, 30000, 2.0, 0.0)  # source EER threshold: 1
    tgt_s, tgt_y = _gauss(rng, 30000, 1.0, -1.0)  # target EER threshold: 0
    metric = METRICS.build(dict(type='AntiSpoofingMetric', target_domain='msu-mfsd', video_level=False))
    metric.process(None, _samples(src_s, src_y, 'oulu-npu') + _samples(tgt_s, tgt_y, 'msu-mfsd'))
    res = metric.compute_metrics(metric.results)
    assert res['threshold'] == pytest.approx(_sigmoid(1.0), abs=0.01)
    far, frr = phi(-2.0), 0.5  # attack N(-1, 1) above 1; live N(1, 1) below 1
    assert res['FAR'] == pytest.approx(100 * far, abs=0.4)
    assert res['FRR'] == pytest.approx(100 * frr, abs=0.9)
    assert res['HTER'] == pytest.approx(100 * (far + frr) / 2, abs=0.6)
    assert res['EER'] == pytest.approx(100 * phi(-1.0), abs=0.6)
    assert res['HTER@target_EER'] == pytest.approx(100 * phi(-1.0), abs=0.6)  # optimistic, beside
    assert res['threshold@target_EER'] == pytest.approx(0.5, abs=0.01)
    assert res['AUC'] == pytest.approx(100 * phi(math.sqrt(2)), abs=0.4)
    assert res['source/EER'] == pytest.approx(100 * phi(-1.0), abs=0.6)


def _brute_auc(s, y):
    live, att = s[y == 1], s[y == 0]
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(live, att))
    return wins / (len(live) * len(att))


def test_auc_equals_the_pairwise_count_with_ties():
    rng = np.random.default_rng(2)
    for _ in range(20):
        n = int(rng.integers(4, 40))
        s = rng.integers(0, 6, n).astype(float)  # many ties
        y = rng.integers(0, 2, n)
        if y.min() == y.max():
            continue
        assert roc_auc(s, y) == pytest.approx(_brute_auc(s, y), abs=1e-12)


def test_eer_threshold_is_the_best_of_a_brute_force_scan():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(5, 50))
        s, y = rng.normal(size=n).round(1), rng.integers(0, 2, n)
        if y.min() == y.max():
            continue
        gaps = {}
        for t in list(np.unique(s)) + [np.inf]:
            far = np.sum((s >= t) & (y == 0)) / np.sum(y == 0)
            frr = np.sum((s < t) & (y == 1)) / np.sum(y == 1)
            gaps[t] = (abs(far - frr), (far + frr) / 2)
        best = min(g for g, _ in gaps.values())
        eer, thr = eer_threshold(s, y)
        assert gaps[thr][0] == best and eer == gaps[thr][1]
        assert thr == min(t for t, (g, _) in gaps.items() if g == best)


def test_far_frr_accept_live_at_or_above_the_threshold():
    s, y = np.array([0.2, 0.5, 0.5, 0.9]), np.array([0, 0, 1, 1])
    assert far_frr(s, y, 0.5) == (0.5, 0.0)  # the attack at 0.5 is accepted, the live at 0.5 too
    assert far_frr(s, y, 0.6) == (0.0, 0.5)


def test_video_level_averages_frames_first():
    # two frames per video; frame-level decisions err (0.2 live, 0.55 attack), video-level ones do not
    frames = {'a': ([0.9, 0.2], 1), 'b': ([0.6, 0.6], 1), 'c': ([0.55, 0.0], 0), 'd': ([0.2, 0.3], 0)}
    videos, scores, labels = [], [], []
    for v, (ss, y) in frames.items():
        for s in ss:
            videos.append(v), scores.append(s), labels.append(y)
    logits = [math.log(p / (1 - p)) if 0 < p < 1 else (-30.0 if p == 0 else 30.0) for p in scores]
    hter = {}
    for video_level in (True, False):
        m = AntiSpoofingMetric(threshold=0.5, video_level=video_level, report_target_eer=False)
        m.process(None, _samples(logits, labels, 'replay-attack', videos))
        res = m.compute_metrics(m.results)
        if video_level:  # means a 0.55, b 0.6 (live), c 0.275, d 0.25 (attack): all right at 0.5
            s = np.array([0.55, 0.6, 0.275, 0.25])
            yy = np.array([1, 1, 0, 0])
        else:
            s, yy = np.array(scores), np.array(labels)
        far = np.mean(s[yy == 0] >= 0.5)
        frr = np.mean(s[yy == 1] < 0.5)
        assert res['HTER'] == pytest.approx(100 * (far + frr) / 2, abs=1e-9)
        assert res['AUC'] == pytest.approx(100 * _brute_auc(s, yy), abs=1e-6)
        assert res['threshold'] == 0.5 and 'HTER@target_EER' not in res
        hter[video_level] = res['HTER']
    assert hter == {True: 0.0, False: pytest.approx(25.0)}  # by hand: one live and one attack frame wrong of 4 + 4


def test_bad_setups_are_refused():
    with pytest.raises(ValueError, match='target_domain'):
        AntiSpoofingMetric()
    with pytest.raises(ValueError, match="'source_eer' or a number"):
        AntiSpoofingMetric(target_domain='x', threshold='target_eer')
    m = AntiSpoofingMetric(target_domain='msu-mfsd')
    m.process(None, _samples([1.0, -1.0], [1, 0], 'msu-mfsd'))
    with pytest.raises(ValueError, match='held-out source samples'):
        m.compute_metrics(m.results)
    m = AntiSpoofingMetric(target_domain='casia-fasd')
    m.process(None, _samples([1.0, -1.0], [1, 0], 'msu-mfsd'))
    with pytest.raises(ValueError, match="no sample has domain 'casia-fasd'"):
        m.compute_metrics(m.results)
    with pytest.raises(ValueError, match='one class'):
        roc_auc(np.array([0.1, 0.2]), np.array([1, 1]))
    m = AntiSpoofingMetric(threshold=0.5, video_level=True)
    m.process(None, _samples([1.0, -1.0], [1, 0], 'x', videos=['v', 'v']))
    with pytest.raises(ValueError, match='labelled both'):
        m.compute_metrics(m.results)
