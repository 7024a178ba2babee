"""Face parsing F1 (FaRL / MCF protocol), registered in mmseg's METRICS as ``FaceF1Metric``.

One confusion matrix is accumulated over the whole test set at original resolution; per-class
``F1_c = 2 TP / (2 TP + FP + FN)``; the reported mean F1 averages every class except background.
mmseg's ``mFscore`` averages over all classes including background, so it is a different number.

A class absent from both prediction and label has ``F1 = 0 / 0``. How the mean treats it is the metric's
``absent`` switch: ``'skip'`` (default) averages only the defined classes, ``'nan'`` keeps the 0 / 0 so the
mean becomes NaN, which is what FaRL's scorer computes (``2 I / (A + B)`` summed over every foreground class
and divided by their number). ``mF1.num_classes`` reports how many classes the mean averaged.
"""

from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from mmseg.registry import METRICS


def confusion_matrix(pred: torch.Tensor, label: torch.Tensor, num_classes: int, ignore_index: int = 255) -> np.ndarray:
    """[C, C] int64 counts, rows = ground truth, columns = prediction; ``ignore_index`` pixels skipped."""
    if pred.shape != label.shape:
        raise ValueError(
            f'prediction {tuple(pred.shape)} and label {tuple(label.shape)} differ in shape: the '
            'face F1 is computed at original resolution, so predictions must be put back on the '
            'original image (use FaceParsingEncoderDecoder and RoITanhWarp(warp_label=False)).'
        )
    label = label.reshape(-1).long()
    pred = pred.reshape(-1).long()
    keep = label != ignore_index
    label, pred = label[keep], pred[keep]
    if label.numel() and (label.max() >= num_classes or label.min() < 0):
        raise ValueError(
            f'label ids must lie in [0, {num_classes}) or equal ignore_index={ignore_index}; '
            f'found {int(label.min())}..{int(label.max())}'
        )
    counts = torch.bincount(label * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).cpu().numpy().astype(np.int64)


def f1_from_confusion(conf: np.ndarray) -> np.ndarray:
    """Per-class F1 = 2TP / (2TP + FP + FN); NaN for a class absent from both prediction and truth."""
    tp = np.diag(conf).astype(np.float64)
    fp = conf.sum(0) - tp
    fn = conf.sum(1) - tp
    denom = 2 * tp + fp + fn
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), np.nan)


ABSENT_POLICIES = ('skip', 'nan')


def mean_f1(f1: np.ndarray, keep: Sequence[int], absent: str = 'skip') -> Tuple[float, int]:
    """Mean of ``f1[keep]`` and the number of classes averaged; see the module doc for ``absent``."""
    values = f1[list(keep)]
    if absent == 'skip':
        values = values[~np.isnan(values)]
    return (float(values.mean()) if values.size else float('nan')), int(values.size)


@METRICS.register_module()
class FaceF1Metric(BaseMetric):
    """Mean F1 over the face classes (background excluded) from one test-set confusion matrix.

    Args:
        ignore_index: label value skipped (mmseg's 255).
        background_index: the class left out of the mean (None keeps every class).
        absent: a class absent from both prediction and label (F1 = 0 / 0): ``'skip'`` leaves it out of the
            mean, ``'nan'`` (FaRL's scorer) keeps it, so the mean is NaN.
        prefix: metric name prefix.
    Outputs: ``mF1`` and ``F1.<class>`` for every class (percent), ``mF1.num_classes`` (the classes averaged).
    """

    default_prefix: Optional[str] = None

    def __init__(
        self,
        ignore_index: int = 255,
        background_index: Optional[int] = 0,
        absent: str = 'skip',
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index
        self.background_index = background_index
        if absent not in ABSENT_POLICIES:
            raise ValueError(
                f'absent must be one of {ABSENT_POLICIES} (how a class absent from prediction and '
                f'label enters the mean F1), got {absent!r}.'
            )
        self.absent = absent

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for sample in data_samples:
            pred = sample['pred_sem_seg']['data'].squeeze(0)  # [H, W]
            label = sample['gt_sem_seg']['data'].squeeze(0).to(pred.device)  # [H, W]
            self.results.append(confusion_matrix(pred, label, num_classes, self.ignore_index))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        conf = np.sum(results, axis=0)  # [C, C] over the whole test set
        f1 = f1_from_confusion(conf)
        classes = self.dataset_meta['classes']
        keep = [c for c in range(len(classes)) if c != self.background_index]
        mean, averaged = mean_f1(f1, keep, self.absent)
        metrics = {'mF1': mean * 100, 'mF1.num_classes': averaged}
        for name, value in zip(classes, f1):
            metrics[f'F1.{name}'] = float(value * 100)
        MMLogger.get_current_instance().info(
            'face F1 (%): '
            + ', '.join(f'{n} {v * 100:.2f}' for n, v in zip(classes, f1))
            + f' | mean over {averaged} of {len(keep)} classes without background (absent={self.absent!r}): '
            + f'{metrics["mF1"]:.2f}'
        )
        return metrics
