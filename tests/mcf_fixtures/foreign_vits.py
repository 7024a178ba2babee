"""Reference re-implementations of foreign ViTs, written from their published definitions (test-only).

``TimmViT`` follows timm's ``vision_transformer.py`` module names (patch_embed.proj, cls_token, pos_embed,
blocks.i.{norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2}, norm, head); ``ClipViT`` follows OpenAI
CLIP's ``model.py`` VisionTransformer (conv1, class_embedding, positional_embedding, ln_pre,
transformer.resblocks.i.{attn (nn.MultiheadAttention), ln_1, mlp.c_fc, QuickGELU, mlp.c_proj, ln_2}, ln_post,
proj). Both expose ``block_outputs(x, indices)`` -> raw outputs [N, T, D] of the chosen blocks.
"""

from collections import OrderedDict
from typing import List, Sequence

import torch
from torch import Tensor, nn


class TimmAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads, self.scale = num_heads, (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # [B, H, N, d]
        attn = (q @ k.transpose(-2, -1) * self.scale).softmax(dim=-1)  # [B, H, N, N]
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class TimmMlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class TimmBlock(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = TimmAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = TimmMlp(dim, int(dim * mlp_ratio))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TimmPatchEmbed(nn.Module):
    def __init__(self, patch: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # [N, L, D]


class TimmViT(nn.Module):
    """timm / MAE / MoCo-v3 style ViT (LayerNorm eps 1e-6, GELU, qkv bias, CLS token)."""

    def __init__(
        self, img_size: int = 32, patch: int = 8, dim: int = 32, depth: int = 2, heads: int = 2, num_classes: int = 10
    ) -> None:
        super().__init__()
        grid = img_size // patch
        self.patch_embed = TimmPatchEmbed(patch, dim)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + grid * grid, dim) * 0.02)
        self.blocks = nn.Sequential(*[TimmBlock(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def block_outputs(self, x: Tensor, indices: Sequence[int]) -> List[Tensor]:
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed  # [N, T, D]
        outs = {}
        for i, blk in enumerate(self.blocks):
            x = blk(x)
            outs[i] = x
        return [outs[i] for i in indices]

    def final(self, x: Tensor) -> Tensor:
        """Normed CLS token after the last block [N, D]."""
        return self.norm(self.block_outputs(x, [len(self.blocks) - 1])[0])[:, 0]


class QuickGELU(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model: int, n_head: int, attn_mask: Tensor = None) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(
            OrderedDict(
                [
                    ('c_fc', nn.Linear(d_model, d_model * 4)),
                    ('gelu', QuickGELU()),
                    ('c_proj', nn.Linear(d_model * 4, d_model)),
                ]
            )
        )
        self.ln_2 = nn.LayerNorm(d_model)
        self.attn_mask = attn_mask

    def forward(self, x: Tensor) -> Tensor:  # [L, N, D] (sequence first, as in CLIP)
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, attn_mask: Tensor = None) -> None:
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, attn_mask) for _ in range(layers)])


class ClipViT(nn.Module):
    """OpenAI CLIP VisionTransformer (also FaRL's image tower)."""

    def __init__(
        self,
        input_resolution: int = 32,
        patch_size: int = 8,
        width: int = 32,
        layers: int = 2,
        heads: int = 2,
        output_dim: int = 16,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch_size, patch_size, bias=False)
        scale = width**-0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((input_resolution // patch_size) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def block_outputs(self, x: Tensor, indices: Sequence[int]) -> List[Tensor]:
        x = self.conv1(x)  # [N, D, g, g]
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)  # [N, L, D]
        cls = self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1])
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding)  # [N, T, D]
        x = x.permute(1, 0, 2)  # [T, N, D]
        outs = {}
        for i, blk in enumerate(self.transformer.resblocks):
            x = blk(x)
            outs[i] = x.permute(1, 0, 2)
        return [outs[i] for i in indices]

    def forward(self, x: Tensor) -> Tensor:
        """Image embedding [N, output_dim] (ln_post on CLS, then proj)."""
        return self.ln_post(self.block_outputs(x, [len(self.transformer.resblocks) - 1])[0][:, 0]) @ self.proj


def randomise(model: nn.Module) -> nn.Module:
    """Give every bias and LayerNorm weight random values so a wrong mapping cannot hide behind ones/zeros."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
        for name, p in model.named_parameters():
            if name.endswith('bias'):
                p.uniform_(-0.5, 0.5)
    return model
