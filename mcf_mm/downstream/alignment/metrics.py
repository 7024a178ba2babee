"""Face alignment metrics with the exact FaRL/MCF definitions (see docs/protocols.md).

NME of a face = mean over ALL points of ||pred - gt|| / d (visibility ignored); reported NME = mean over
faces. CED/AUC/FR at t: x = 0, 1e-4, ..., t; CED(x) = fraction of faces with NME <= x;
AUC = Simpson integral of CED / t; FR = 1 - CED(t). Values are reported in percent.
Grid switch ``auc_grid``: 'closed' (default) samples x = 0 .. t exactly (t/1e-4 + 1 points); 'farl' uses
FaRL's scorer grid x = arange(0, t + 1e-4, 1e-4) and FR = 1 - CED(last x); the integral is still divided by
t. In floating point that grid ends one step past t at t = 0.07 (702 points, last 0.0701) but stops at t for
t = 0.10 (1001 points).
"""

from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmpose.registry import METRICS
from scipy.integrate import simpson

PointGroup = Union[int, Sequence[int]]
Normalizer = Union[str, Tuple[PointGroup, PointGroup]]


def _group_indices(group: PointGroup) -> List[int]:
    return [int(group)] if isinstance(group, (int, np.integer)) else [int(i) for i in group]


def _group_mean(points: np.ndarray, group: PointGroup) -> np.ndarray:
    return points[..., _group_indices(group), :].mean(axis=-2)  # [..., 2]


def check_normalizer(name: str, spec: Normalizer, num_points: Optional[int] = None) -> None:
    """Refuse a malformed normaliser, or (given ``num_points``) one whose landmark indices the data lacks.

    Raises:
        ValueError naming the normaliser, the bad index and the dataset's valid range.
    """
    if isinstance(spec, str):
        if spec not in ('box', 'diag'):
            raise ValueError(f'unknown normaliser {name}={spec!r}: use "box", "diag" or a pair of point groups.')
        return
    ok = isinstance(spec, (tuple, list)) and len(spec) == 2
    try:
        groups = [_group_indices(g) for g in spec] if ok else []
    except (TypeError, ValueError):
        ok = False
    if not ok or not all(groups):
        raise ValueError(
            f'normaliser {name}={spec!r} must be "box", "diag" or a pair of landmark groups (an '
            'index or a list of indices each), e.g. (36, 45) or (range(36, 42), range(42, 48)).'
        )
    where = (
        f'Set val_evaluator.normalizers.{name} and test_evaluator.normalizers.{name} to landmarks of this '
        'dataset (e.g. its outer eye corners for an inter-ocular distance) or use "box".'
    )
    negative = [i for g in groups for i in g if i < 0]
    if negative:
        raise ValueError(
            f'FaceAlignmentMetric normaliser "{name}" uses the negative landmark index {negative[0]}; '
            f'indices count from 0. {where}'
        )
    outside = [i for g in groups for i in g if num_points is not None and i >= num_points]
    if outside:
        raise ValueError(
            f'FaceAlignmentMetric normaliser "{name}" uses landmark index {outside[0]}, but the '
            f'dataset has {num_points} points (valid indices 0..{num_points - 1}). {where}'
        )


def normalizing_distance(gt: np.ndarray, box: np.ndarray, spec: Normalizer) -> np.ndarray:
    """Per-face normaliser d.

    Args:
        gt: ground-truth points [F, K, 2].
        box: annotation boxes [F, 4] (x1, y1, x2, y2).
        spec: 'box' (sqrt(w*h)), 'diag' (sqrt(w²+h²)) or a pair of point groups (each an index or a list
            of indices averaged), e.g. (36, 45) inter-ocular or (range(36, 42), range(42, 48)) inter-pupil.
    Returns:
        d [F].
    """
    w, h = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    if spec == 'box':
        return np.sqrt(w * h)
    if spec == 'diag':
        return np.sqrt(w**2 + h**2)
    check_normalizer('spec', spec)
    return np.linalg.norm(_group_mean(gt, spec[0]) - _group_mean(gt, spec[1]), axis=-1)


def face_nme(pred: np.ndarray, gt: np.ndarray, d: np.ndarray) -> np.ndarray:
    """NME per face: mean over all K points of the point error divided by d. pred, gt [F, K, 2]; d [F]."""
    return np.linalg.norm(pred - gt, axis=-1).mean(axis=-1) / d  # [F]


AUC_GRIDS = ('closed', 'farl')


def ced_grid(threshold: float, step: float = 1e-4, grid: str = 'closed') -> np.ndarray:
    """The CED sample points [T]: 'closed' = 0 .. threshold; 'farl' = np.arange(0, threshold + step, step)."""
    if grid == 'closed':
        return np.linspace(0.0, threshold, int(round(threshold / step)) + 1)
    if grid == 'farl':
        return np.arange(0, threshold + step, step)
    raise ValueError(f'unknown auc_grid {grid!r}: use one of {AUC_GRIDS} ("farl" = the FaRL scorer\'s grid).')


def ced_auc_fr(nme: np.ndarray, threshold: float, step: float = 1e-4, grid: str = 'closed') -> Tuple[float, float]:
    """AUC and FR (fractions) of the CED of per-face NMEs (fractions) up to ``threshold`` (grid: ced_grid)."""
    xs = ced_grid(threshold, step, grid)  # [T]
    ced = (np.asarray(nme)[None, :] <= xs[:, None]).mean(axis=1)  # [T]
    auc = simpson(ced, x=xs) / threshold
    fr = 1.0 - ced[-1]
    return float(auc), float(fr)


@METRICS.register_module()
class FaceAlignmentMetric(BaseMetric):
    """NME with named normalisers, AUC/FR at a threshold, on the whole test set and its subsets.

    Keys: ``NME_<name>``, ``AUC_<name>@<t>``, ``FR_<name>@<t>`` and ``<subset>/...`` for every subset.

    Args:
        normalizers: name -> spec (see :func:`normalizing_distance`), e.g.
            dict(box='box', diag='diag') or dict(inter_ocular=(36, 45)).
        ced: list of (normaliser name, threshold), e.g. [('box', 0.07)] or [('inter_ocular', 0.10)].
        subsets: subset names to report as well (faces tagged in the data info ``subsets``).
        percent: report values x100 (the papers' unit).
        auc_grid: CED sample points, 'closed' (0 .. t) or 'farl' (FaRL's arange(0, t + 1e-4, 1e-4), one
            point past t; FR read at that point). The reproduction configs set 'farl'.
    """

    default_prefix: Optional[str] = None

    def __init__(
        self,
        normalizers: Dict[str, Normalizer],
        ced: Sequence[Tuple[str, float]] = (),
        subsets: Sequence[str] = (),
        percent: bool = True,
        auc_grid: str = 'closed',
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not normalizers:
            raise ValueError('FaceAlignmentMetric needs at least one normaliser, e.g. dict(box="box").')
        for name, _ in ced:
            if name not in normalizers:
                raise ValueError(f'ced uses normaliser "{name}" which is not in normalizers {list(normalizers)}.')
        for name, spec in normalizers.items():
            check_normalizer(name, spec)
        self.normalizers = dict(normalizers)
        self.ced = [(str(n), float(t)) for n, t in ced]
        self.subsets = tuple(subsets)
        self.scale = 100.0 if percent else 1.0
        ced_grid(0.1, grid=auc_grid)  # refuse an unknown grid name now, not at the first evaluation
        self.auc_grid = auc_grid

    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        """Set by the val/test loop when it is built, before the first training iteration: check the indices."""
        num = None if dataset_meta is None else dataset_meta.get('num_keypoints')
        if num is not None:
            self._check_points(int(num))
        self._dataset_meta = dataset_meta

    def _check_points(self, num_points: int) -> None:
        for name, spec in self.normalizers.items():
            check_normalizer(name, spec, num_points)

    def process(self, data_batch: Sequence[dict], data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            gt = sample['gt_instances']
            pred = np.asarray(sample['pred_instances']['keypoints'], dtype=np.float64)[0, :, :2]  # [K, 2]
            if not self.results:  # a dataset without ``num_keypoints`` metainfo: check on the first face
                self._check_points(pred.shape[0])
            self.results.append(
                dict(
                    pred=pred,
                    gt=np.asarray(gt['keypoints'], dtype=np.float64)[0, :, :2],  # [K, 2]
                    box=np.asarray(gt['bboxes'], dtype=np.float64).reshape(-1, 4)[0],  # [4]
                    subsets=tuple(sample.get('subsets', ())),
                )
            )

    def evaluate_arrays(self, pred: np.ndarray, gt: np.ndarray, box: np.ndarray) -> Dict[str, float]:
        """Metrics of one face set. pred, gt [F, K, 2]; box [F, 4]."""
        out: Dict[str, float] = OrderedDict()
        nmes = {}
        for name, spec in self.normalizers.items():
            nmes[name] = face_nme(pred, gt, normalizing_distance(gt, box, spec))  # [F]
            out[f'NME_{name}'] = float(nmes[name].mean()) * self.scale
        for name, t in self.ced:
            auc, fr = ced_auc_fr(nmes[name], t, grid=self.auc_grid)
            out[f'AUC_{name}@{t:g}'] = auc * self.scale
            out[f'FR_{name}@{t:g}'] = fr * self.scale
        return out

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        pred = np.stack([r['pred'] for r in results])  # [F, K, 2]
        gt = np.stack([r['gt'] for r in results])  # [F, K, 2]
        box = np.stack([r['box'] for r in results])  # [F, 4]
        metrics = self.evaluate_arrays(pred, gt, box)
        logger = MMLogger.get_current_instance()
        for subset in self.subsets:
            keep = np.array([subset in r['subsets'] for r in results])
            if not keep.any():
                logger.warning(f'subset "{subset}" has no faces in this test set; its metrics are skipped.')
                continue
            for k, v in self.evaluate_arrays(pred[keep], gt[keep], box[keep]).items():
                metrics[f'{subset}/{k}'] = v
        metrics['num_faces'] = float(len(results))
        return metrics
