"""Cross-domain face anti-spoofing metric: HTER at a threshold fixed on SOURCE-domain data, AUC, EER.

Convention (SSDG's ``eval_state``): a sample is accepted as live when its liveness score ``pred_score[1]`` is
``>= threshold``. FAR = attacks accepted / attacks, FRR = live rejected / live, HTER = (FAR + FRR) / 2.
"""

from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mcf_mm.registry import METRICS


def far_frr(scores: np.ndarray, labels: np.ndarray, threshold: float) -> Tuple[float, float]:
    """(FAR, FRR) at ``threshold``: live (label 1) accepted when score >= threshold."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels)
    _check_both_classes(labels)
    live = labels == 1
    far = float(np.mean(scores[~live] >= threshold))
    frr = float(np.mean(scores[live] < threshold))
    return far, frr


def eer_threshold(scores: np.ndarray, labels: np.ndarray) -> Tuple[float, float]:
    """(EER, threshold): over the thresholds at every distinct score (and +inf), the one where |FAR - FRR| is
    smallest (the smallest such threshold on ties); EER = (FAR + FRR) / 2 there (SSDG's definition, exact
    instead of its 0.0001 grid)."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels)
    _check_both_classes(labels)
    att, live = np.sort(scores[labels != 1]), np.sort(scores[labels == 1])
    cands = np.append(np.unique(scores), np.inf)  # [T]
    far = (att.size - np.searchsorted(att, cands, side='left')) / att.size  # attacks with score >= t
    frr = np.searchsorted(live, cands, side='left') / live.size  # live with score < t
    best = int(np.argmin(np.abs(far - frr)))  # argmin takes the first (smallest t) on ties
    return float((far[best] + frr[best]) / 2), float(cands[best])


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve = P(live score > attack score) + P(equal) / 2 (Mann-Whitney, tie-aware ranks)."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels)
    _check_both_classes(labels)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)  # average 1-based rank of each distinct value: (start + end) / 2
    ranks = ((ends - counts + 1 + ends) / 2.0)[inverse]
    live = labels == 1
    n_live, n_att = int(live.sum()), int((~live).sum())
    return float((ranks[live].sum() - n_live * (n_live + 1) / 2) / (n_live * n_att))


def _check_both_classes(labels: np.ndarray) -> None:
    if not (np.any(labels == 1) and np.any(labels != 1)):
        raise ValueError('anti-spoofing metrics need live (1) and attack (0) samples; this set has one class only.')


def video_scores(
    scores: Sequence[float], labels: Sequence[int], videos: Sequence[str]
) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """Average the frame scores of each video (SSDG's video-level evaluation); order of first appearance."""
    groups: Dict[str, list] = OrderedDict()
    for s, y, v in zip(scores, labels, videos):
        g = groups.setdefault(v, [[], y])
        if g[1] != y:
            raise ValueError(f'video {v} has frames labelled both {g[1]} and {y}.')
        g[0].append(s)
    names = list(groups)
    return (
        np.array([np.mean(groups[v][0]) for v in names]),
        np.array([groups[v][1] for v in names]),
        names,
    )


@METRICS.register_module()
class AntiSpoofingMetric(BaseMetric):
    """HTER / AUC / EER of a target domain, with the decision threshold fixed on source-domain data.

    The evaluated set mixes the target test data (``domain == target_domain``) and, for the default threshold,
    held-out SOURCE data (any other ``domain``): the threshold is the EER threshold of the source part and the
    target's HTER is measured at it (``HTER``, the reported number). The target's own EER threshold gives the
    optimistic ``HTER@target_EER`` that many codebases report; it is printed beside, never as ``HTER``.

    Args:
        target_domain: the ``domain`` metainfo of the target test samples.
        threshold: ``'source_eer'`` (default) or a float fixed in advance (e.g. the source-EER threshold of an
            earlier run); with a float no source data is needed.
        video_level: average the frame scores per video before scoring (default True, as SSDG); False scores
            frames.
        report_target_eer: also compute ``HTER@target_EER`` and its threshold (default True).
        collect_device, prefix: as mmengine's ``BaseMetric``.

    Keys (percent unless noted): ``HTER``, ``FAR``, ``FRR``, ``threshold`` (score), ``AUC``, ``EER`` (target);
    ``source/EER``, ``source/AUC`` with the default threshold; ``HTER@target_EER``, ``threshold@target_EER``.
    """

    default_prefix = None

    def __init__(
        self,
        target_domain: Optional[str] = None,
        threshold: Union[str, float] = 'source_eer',
        video_level: bool = True,
        report_target_eer: bool = True,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if isinstance(threshold, str) and threshold != 'source_eer':
            raise ValueError(f"threshold must be 'source_eer' or a number, got {threshold!r}.")
        if threshold == 'source_eer' and target_domain is None:
            raise ValueError("threshold='source_eer' needs target_domain= to tell the target samples from the source.")
        self.target_domain, self.threshold = target_domain, threshold
        self.video_level, self.report_target_eer = video_level, report_target_eer

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            score = ds['pred_score']
            if len(score) != 2:
                raise ValueError(f'AntiSpoofingMetric needs a 2-way head (attack, live), got {len(score)} scores.')
            label = ds['gt_label']
            self.results.append(
                dict(
                    score=float(score[1]),
                    label=int(label.item() if hasattr(label, 'item') else np.asarray(label).reshape(-1)[0]),
                    video=str(ds.get('video', ds.get('sample_idx'))),
                    domain=str(ds.get('domain', '')),
                )
            )

    def _scores(self, rows: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
        s = [r['score'] for r in rows]
        y = [r['label'] for r in rows]
        if self.video_level:
            s, y, _ = video_scores(s, y, [r['domain'] + '/' + r['video'] for r in rows])
        return np.asarray(s), np.asarray(y)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if self.target_domain is None:
            target, source = results, []
        else:
            target = [r for r in results if r['domain'] == self.target_domain]
            source = [r for r in results if r['domain'] != self.target_domain]
        if not target:
            raise ValueError(
                f'no sample has domain {self.target_domain!r}; the domains here are '
                f'{sorted({r["domain"] for r in results})}.'
            )
        ts, ty = self._scores(target)
        out: Dict[str, float] = {}
        if self.threshold == 'source_eer':
            if not source:
                raise ValueError(
                    "threshold='source_eer' needs held-out source samples (domain != target_domain) in the "
                    'evaluated set: concatenate them into the test dataset, or pass threshold=<float>.'
                )
            ss, sy = self._scores(source)
            s_eer, thr = eer_threshold(ss, sy)
            out['source/EER'], out['source/AUC'] = 100 * s_eer, 100 * roc_auc(ss, sy)
            rule = f'source EER over {len(ss)} {"videos" if self.video_level else "frames"} ' + ', '.join(
                sorted({r['domain'] for r in source})
            )
        else:
            thr, rule = float(self.threshold), 'fixed value'
        far, frr = far_frr(ts, ty, thr)
        t_eer, t_thr = eer_threshold(ts, ty)
        out.update(HTER=100 * (far + frr) / 2, FAR=100 * far, FRR=100 * frr, threshold=thr)
        out.update(AUC=100 * roc_auc(ts, ty), EER=100 * t_eer)
        if self.report_target_eer:
            o_far, o_frr = far_frr(ts, ty, t_thr)
            out['HTER@target_EER'], out['threshold@target_EER'] = 100 * (o_far + o_frr) / 2, t_thr
        level = 'video' if self.video_level else 'frame'
        msg = (
            f'anti-spoofing ({level} level, target {self.target_domain}: {len(ts)} {level}s, '
            f'{int((ty == 1).sum())} live): HTER {out["HTER"]:.2f} at threshold {thr:.4f} ({rule}); '
            f'FAR {out["FAR"]:.2f} FRR {out["FRR"]:.2f}; AUC {out["AUC"]:.2f}; target EER {out["EER"]:.2f}'
        )
        if self.report_target_eer:
            msg += (
                f'; optimistic HTER@target_EER {out["HTER@target_EER"]:.2f} at threshold '
                f'{t_thr:.4f} (chosen on the test set itself)'
            )
        MMLogger.get_current_instance().info(msg)
        return out
