"""FaRL's BEiT-style masked-image-modelling head: a small transformer and a classifier over visual tokens."""

from typing import Dict

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.models.backbones.vision_transformer import TransformerEncoderLayer
from torch import Tensor, nn

from mcf_mm.registry import MODELS


@MODELS.register_module()
class FaRLMIMHead(BaseModule):
    """Predict the visual-token id of every masked patch.

    Args:
        embed_dims: width of the encoder tokens.
        num_layers / num_heads: the small extra transformer (0 layers = linear head only, as in BEiT).
        vocab_size: number of visual tokens (DALL-E: 8192).
        feedforward_ratio: MLP width of the extra blocks.
    """

    def __init__(
        self,
        embed_dims: int,
        vocab_size: int = 8192,
        num_layers: int = 2,
        num_heads: int = 12,
        feedforward_ratio: float = 4.0,
        init_cfg=None,
    ) -> None:
        super().__init__(init_cfg)
        self.blocks = nn.ModuleList(
            [
                TransformerEncoderLayer(
                    embed_dims,
                    num_heads,
                    int(embed_dims * feedforward_ratio),
                    qkv_bias=True,
                    norm_cfg=dict(type='LN', eps=1e-6),
                )
                for _ in range(num_layers)
            ]
        )
        self.norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.classifier = nn.Linear(embed_dims, vocab_size)
        self.vocab_size = vocab_size
        nn.init.trunc_normal_(self.classifier.weight, std=0.02)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, tokens: Tensor, num_extra_tokens: int = 1) -> Tensor:
        """tokens [N, T, D] (CLS first) -> visual-token logits of the patches [N, L, V]."""
        for block in self.blocks:
            tokens = block(tokens)
        return self.classifier(self.norm(tokens[:, num_extra_tokens:]))

    def loss(self, tokens: Tensor, target_ids: Tensor, mask: Tensor, num_extra_tokens: int = 1) -> Dict[str, Tensor]:
        """Cross-entropy over masked patches only.

        Args:
            tokens: encoder output of the masked copy [N, T, D].
            target_ids: visual-token ids of the clean image [N, L].
            mask: [N, L] or [N, h, w], 1 = masked.
        Returns:
            ``loss`` and ``accuracy`` (top-1 on masked patches).
        """
        logits = self(tokens, num_extra_tokens)  # [N, L, V]
        mask = mask.flatten(1).bool()  # [N, L]
        if target_ids.shape != mask.shape:
            raise ValueError(
                f'visual-token targets {tuple(target_ids.shape)} do not match the patch mask '
                f'{tuple(mask.shape)}: the tokenizer grid must equal the ViT patch grid.'
            )
        if not mask.any():
            raise ValueError('the MIM mask hides no patch; check BEiTMaskGenerator.num_masking_patches.')
        picked, target = logits[mask], target_ids[mask].long()  # [M, V], [M]
        with torch.no_grad():
            acc = (picked.argmax(-1) == target).float().mean()
        return dict(loss=F.cross_entropy(picked, target), accuracy=acc)
