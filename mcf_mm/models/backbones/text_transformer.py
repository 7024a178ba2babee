"""CLIP's text transformer (FaRL's text tower), with OpenAI CLIP's parameter names so released weights load
unchanged: token_embedding, positional_embedding, transformer.resblocks.i.{attn, ln_1, mlp.c_fc, mlp.c_proj,
ln_2}, ln_final, text_projection."""

from collections import OrderedDict
from typing import Optional

import torch
from mmengine.model import BaseModule
from mmpretrain.models.utils import QuickGELU  # x * sigmoid(1.702 x), CLIP's activation
from torch import Tensor, nn

from mcf_mm.registry import MODELS


class ResidualAttentionBlock(nn.Module):
    """Pre-norm transformer block operating on [L, N, D] (sequence first, as in CLIP).

    mmpretrain has one too (``clip_generator_helper``), but it binds the attention mask at construction
    (so captions shorter than the context need padding) and its last block computes attention weights.
    """

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            OrderedDict(
                [('c_fc', nn.Linear(width, width * 4)), ('gelu', QuickGELU()), ('c_proj', nn.Linear(width * 4, width))]
            )
        )
        self.ln_2 = nn.LayerNorm(width)

    def forward(self, x: Tensor, attn_mask: Optional[Tensor] = None) -> Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class _Resblocks(nn.Module):
    def __init__(self, width: int, layers: int, heads: int) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])


@MODELS.register_module()
class CLIPTextTransformer(BaseModule):
    """Causal text transformer with EOT pooling and a linear projection.

    Args:
        vocab_size: BPE vocabulary (CLIP: 49,408).
        context_length: maximum tokens (CLIP: 77).
        width / layers / heads: transformer size (CLIP ViT-B/16 text tower: 512 / 12 / 8).
        embed_dim: output (joint embedding) size; text_projection is [width, embed_dim].
    """

    def __init__(
        self,
        vocab_size: int = 49408,
        context_length: int = 77,
        width: int = 512,
        layers: int = 12,
        heads: int = 8,
        embed_dim: int = 512,
        init_cfg=None,
    ) -> None:
        super().__init__(init_cfg)
        if width % heads:
            raise ValueError(f'text width {width} is not divisible by heads={heads}.')
        self.context_length, self.width, self.layers = context_length, width, layers
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, width))
        self.transformer = _Resblocks(width, layers, heads)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(width, embed_dim))
        mask = torch.full((context_length, context_length), float('-inf')).triu_(1)  # causal
        self.register_buffer('attn_mask', mask, persistent=False)
        self._clip_init()

    def _clip_init(self) -> None:
        """CLIP's initialisation (std scaled by width and depth)."""
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        proj_std = self.width**-0.5 * (2 * self.layers) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=self.width**-0.5)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=(2 * self.width) ** -0.5)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=self.width**-0.5)

    def init_weights(self) -> None:
        if self.init_cfg is None:
            self._clip_init()
        else:
            super().init_weights()

    def forward(self, tokens: Tensor) -> Tensor:
        """tokens [N, L] (SOT ... EOT, zero padding; EOT has the largest id) -> embeddings [N, embed_dim]."""
        length = tokens.shape[1]
        if length > self.context_length:
            raise ValueError(
                f'{length} tokens exceed the text context_length={self.context_length}; '
                'tokenize with the same context length.'
            )
        x = self.token_embedding(tokens) + self.positional_embedding[:length]  # [N, L, W]
        x = x.permute(1, 0, 2)  # [L, N, W]
        mask = self.attn_mask[:length, :length]
        for block in self.transformer.resblocks:
            x = block(x, mask)
        x = self.ln_final(x.permute(1, 0, 2))  # [N, L, W]
        eot = x[torch.arange(x.shape[0], device=x.device), tokens.argmax(dim=-1)]  # [N, W]
        return eot @ self.text_projection  # [N, E]
