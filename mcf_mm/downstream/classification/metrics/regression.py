"""Mean absolute error of regressed values (age in years, head-pose angles in degrees)."""

import warnings
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric

from mcf_mm.registry import METRICS


def _vector(sample: dict, key: str) -> np.ndarray:
    value = sample.get(key)
    if value is None:
        raise KeyError(
            f'RegressionMAE needs `{key}` on every data sample (pred_value: FaceRegressionHead.predict; '
            "gt_value: PackInputs(algorithm_keys=('gt_value',)))."
        )
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64).reshape(-1)


@METRICS.register_module()
class RegressionMAE(BaseMetric):
    """Per-name mean absolute error between ``pred_value`` and ``gt_value`` ([D] each), and their mean.

    Output keys: ``MAE_<name>`` for each name, ``MAE`` (mean of the per-name MAEs) and ``num_kept`` (samples
    that passed the ``max_abs`` filter; all samples without one).

    Args:
        names: one name per regressed value, e.g. ``['age']`` or ``['yaw', 'pitch', 'roll']``.
        period: wrap-around period (a scalar for all names, or one per name, None entries for none): the
            error is ``min(|d| mod p, p - |d| mod p)``, e.g. 360 for angles in degrees.
        max_abs: drop samples whose ground truth has any ``|value| > max_abs`` (e.g. 99 for the usual
            AFLW2000 head-pose protocol); None keeps every sample.
    """

    default_prefix: Optional[str] = None

    def __init__(
        self,
        names: Sequence[str] = ('value',),
        period: Union[float, Sequence[Optional[float]], None] = None,
        max_abs: Optional[float] = None,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.names = [str(n) for n in names]
        if not self.names or len(set(self.names)) != len(self.names):
            raise ValueError(f'RegressionMAE needs distinct names, got {list(names)}.')
        periods = list(period) if isinstance(period, (list, tuple)) else [period] * len(self.names)
        if len(periods) != len(self.names):
            raise ValueError(f'RegressionMAE: {len(periods)} periods for {len(self.names)} names {self.names}.')
        if any(p is not None and p <= 0 for p in periods):
            raise ValueError(f'RegressionMAE: periods must be > 0 (or None), got {periods}.')
        if max_abs is not None and max_abs <= 0:
            raise ValueError(f'RegressionMAE: max_abs must be > 0 (or None), got {max_abs}.')
        self.periods, self.max_abs = periods, max_abs

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        d = len(self.names)
        for sample in data_samples:
            pred, gt = _vector(sample, 'pred_value'), _vector(sample, 'gt_value')
            if pred.size != d or gt.size != d:
                raise ValueError(
                    f'RegressionMAE has {d} names {self.names} but a sample has {pred.size} predicted and '
                    f'{gt.size} ground-truth values.'
                )
            self.results.append(dict(pred=pred, gt=gt))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred = np.stack([r['pred'] for r in results])  # [N, D]
        gt = np.stack([r['gt'] for r in results])  # [N, D]
        if self.max_abs is not None:
            keep = (np.abs(gt) <= self.max_abs).all(axis=1)
            pred, gt = pred[keep], gt[keep]
        metrics: Dict[str, float] = {'num_kept': int(gt.shape[0])}
        if gt.shape[0] == 0:
            warnings.warn(f'RegressionMAE: no sample has all |gt| <= max_abs={self.max_abs}; MAE is NaN.', stacklevel=2)
        err = np.abs(pred - gt)  # [N, D]
        for j, p in enumerate(self.periods):
            if p is not None:
                e = np.mod(err[:, j], p)
                err[:, j] = np.minimum(e, p - e)
        per_name = [float(err[:, j].mean()) if err.shape[0] else float('nan') for j in range(err.shape[1])]
        for name, value in zip(self.names, per_name):
            metrics[f'MAE_{name}'] = value
        metrics['MAE'] = float(np.mean(per_name))
        return metrics
