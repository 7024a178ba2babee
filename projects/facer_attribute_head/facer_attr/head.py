"""The attribute head of FaRL's ``facer`` library, as an mmpretrain multi-label head."""

from typing import Optional, Sequence, Tuple

import torch
from mmpretrain.models.heads import MultiLabelClsHead
from torch import Tensor, nn

from mcf_mm.registry import MODELS

POOLS = ('mean', 'max', 'cls')


@MODELS.register_module()
class FacerAttributeHead(MultiLabelClsHead):
    """For each chosen ViT layer: mean-pooled patch tokens, max-pooled patch tokens and CLS, each layer-normed;
    combined with softmax-normalised learnable weights; dropout; linear to ``num_classes`` logits (sigmoid BCE).

    Expects the backbone to return raw tokens (``FaceViT(out_type='raw', out_indices=...)``): a tuple of
    [N, T, D] tensors, CLS first.

    Args:
        num_classes: number of binary attributes (CelebA: 40).
        in_channels: token width D.
        num_layers: how many backbone outputs are combined (len of ``out_indices``).
        num_extra_tokens: leading non-patch tokens (1 = CLS).
        dropout: dropout before the classifier.
        loss / thr / topk: as :class:`MultiLabelClsHead` (default sigmoid cross-entropy, threshold 0.5).
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        num_layers: int,
        num_extra_tokens: int = 1,
        dropout: float = 0.1,
        loss: dict = dict(type='CrossEntropyLoss', use_sigmoid=True),
        thr: Optional[float] = None,
        topk: Optional[int] = None,
        init_cfg=None,
    ) -> None:
        super().__init__(loss=loss, thr=thr, topk=topk, init_cfg=init_cfg)
        if num_extra_tokens < 1:
            raise ValueError('FacerAttributeHead needs the CLS token: build the backbone with_cls_token=True.')
        self.num_layers, self.num_extra_tokens = num_layers, num_extra_tokens
        self.norms = nn.ModuleList([nn.LayerNorm(in_channels) for _ in range(num_layers * len(POOLS))])
        self.feature_weights = nn.Parameter(torch.zeros(num_layers * len(POOLS)))  # softmax -> uniform at start
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_channels, num_classes)

    def pooled(self, feats: Sequence[Tensor]) -> Tensor:
        """Per layer (mean, max, CLS), each layer-normed: [N, 3K, D]."""
        if len(feats) != self.num_layers:
            raise ValueError(
                f'FacerAttributeHead(num_layers={self.num_layers}) got {len(feats)} backbone '
                'outputs; set num_layers to len(backbone.out_indices).'
            )
        out = []
        for x in feats:
            if x.dim() != 3:
                raise ValueError(f'expected raw tokens [N, T, D], got {tuple(x.shape)}: use out_type="raw".')
            patches = x[:, self.num_extra_tokens :]  # [N, L, D]
            out += [patches.mean(dim=1), patches.max(dim=1).values, x[:, 0]]
        return torch.stack([norm(f) for norm, f in zip(self.norms, out)], dim=1)  # [N, 3K, D]

    def pre_logits(self, feats: Tuple[Tensor, ...]) -> Tensor:
        weights = self.feature_weights.softmax(dim=0)  # [3K]
        return (self.pooled(feats) * weights[None, :, None]).sum(dim=1)  # [N, D]

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Backbone outputs -> attribute logits [N, num_classes]."""
        return self.fc(self.dropout(self.pre_logits(feats)))
