"""Mean attribute accuracy: accuracy of (score > thr) per attribute, averaged over attributes (facer/CelebA)."""

from typing import List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mcf_mm.registry import METRICS


@METRICS.register_module()
class MeanAttributeAccuracy(BaseMetric):
    """Args:
    thr: decision threshold on the sigmoid score.
    attribute_names: optional names, to also report each attribute's accuracy.
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
        self.thr, self.names = thr, list(attribute_names) if attribute_names else None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            score = ds['pred_score'].cpu()  # [C] sigmoid scores
            target = torch.zeros_like(score)
            target[torch.as_tensor(ds['gt_label']).long()] = 1
            self.results.append(((score > self.thr).float(), target))

    def compute_metrics(self, results: List) -> dict:
        pred = torch.stack([r[0] for r in results])  # [M, C]
        target = torch.stack([r[1] for r in results])
        per_attr = (pred == target).float().mean(dim=0) * 100  # [C]
        metrics = dict(mean_accuracy=per_attr.mean().item())
        if self.names:
            metrics.update({f'acc_{n}': a.item() for n, a in zip(self.names, per_attr)})
        return metrics
