"""Mean attribute accuracy (how CelebA attribute results are reported): per attribute, the accuracy of the
thresholded sigmoid score against the 0/1 label over all test images; then the mean over attributes.

mmpretrain's ``MultiLabelMetric`` does not give this number: it reports precision, recall, F1 and support per
class (true negatives, which count in accuracy, are not among its outputs).
"""

from typing import List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mcf_mm.registry import METRICS


@METRICS.register_module()
class MeanAttributeAccuracy(BaseMetric):
    """``mean_accuracy`` = mean over the C attributes of 100 * mean over images of [(score >= thr) == label],
    plus ``acc_<name>`` for each attribute.

    Reads each data sample's ``pred_score`` (sigmoid scores [C], as mmpretrain's multi-label heads write them)
    and ``gt_label`` (indices of the positive attributes). ``score >= thr`` is positive, as in mmpretrain's
    ``MultiLabelClsHead`` and ``MultiLabelMetric``.

    Args:
        thr: decision threshold on the sigmoid score.
        attribute_names: names for the per-attribute keys; default the dataset's ``classes``, else 0..C-1.
        collect_device / prefix: as mmengine's ``BaseMetric`` (default prefix 'attr').
    """

    default_prefix = 'attr'

    def __init__(
        self,
        thr: float = 0.5,
        attribute_names: Optional[Sequence[str]] = None,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0.0 < thr < 1.0:
            raise ValueError(f'MeanAttributeAccuracy thr is a threshold on sigmoid scores in (0, 1), got {thr}.')
        self.thr, self.names = thr, list(attribute_names) if attribute_names else None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            score = torch.as_tensor(ds['pred_score']).detach().cpu().float().flatten()  # [C] sigmoid scores
            target = torch.zeros(score.numel(), dtype=torch.bool)
            target[torch.as_tensor(ds['gt_label']).detach().cpu().long().flatten()] = True  # labels may be on the GPU
            self.results.append(((score >= self.thr), target))

    def compute_metrics(self, results: List) -> dict:
        pred = torch.stack([r[0] for r in results])  # [M, C] bool
        target = torch.stack([r[1] for r in results])  # [M, C] bool
        per_attr = (pred == target).double().mean(dim=0) * 100  # [C]
        names = self.names or list((self.dataset_meta or {}).get('classes') or range(per_attr.numel()))
        if len(names) != per_attr.numel():
            raise ValueError(
                f'MeanAttributeAccuracy has {len(names)} attribute names for {per_attr.numel()} scores per '
                "image: give attribute_names matching the head's num_classes."
            )
        metrics = dict(mean_accuracy=per_attr.mean().item())
        metrics.update({f'acc_{n}': a.item() for n, a in zip(names, per_attr)})
        return metrics
