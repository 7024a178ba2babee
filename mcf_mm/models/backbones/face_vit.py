"""Face ViT: mmpretrain's VisionTransformer (parameter names kept) plus masking and a feature API."""

from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.utils import to_2tuple
from mmpretrain.models.backbones import VisionTransformer
from mmpretrain.models.selfsup import MAEViT
from mmpretrain.models.utils import build_2d_sincos_position_embedding, resize_pos_embed
from torch import Tensor

from mcf_mm.registry import MODELS

# ViT-S and ViT-Ti as explicit arch dicts (mmpretrain's 'small' is 768-d x 8 layers, not ViT-S).
FACE_VIT_ARCHS = {
    'tiny': dict(embed_dims=192, num_layers=12, num_heads=3, feedforward_channels=768),
    'small': dict(embed_dims=384, num_layers=12, num_heads=6, feedforward_channels=1536),
    'base': dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072),
    'large': dict(embed_dims=1024, num_layers=24, num_heads=16, feedforward_channels=4096),
    'huge': dict(embed_dims=1280, num_layers=32, num_heads=16, feedforward_channels=5120),
}


SINCOS_LAYOUTS = ('mmpretrain', 'mae')


def sincos_pos_embed(grid: Sequence[int], dims: int, cls_token: bool = True, layout: str = 'mmpretrain') -> Tensor:
    """Fixed 2-D sin-cos table [1, (1+)h*w, dims] (a zero row first for the CLS token).

    'mmpretrain': mmpretrain's table (first half encodes the row). 'mae': MAE's ``get_2d_sincos_pos_embed``,
    which the original MCF code uses (first half encodes the column): the same values, rows and columns swapped.
    """
    if layout not in SINCOS_LAYOUTS:
        raise ValueError(f'sincos_layout={layout!r} is invalid; choose one of {SINCOS_LAYOUTS}.')
    if layout == 'mmpretrain':
        return build_2d_sincos_position_embedding(tuple(grid), dims, cls_token=cls_token)
    if dims % 4:
        raise ValueError(f'a 2-D sin-cos table needs dims divisible by 4, got {dims}.')
    h, w = grid
    index = dict(dtype=torch.float64)
    rows, cols = torch.meshgrid(torch.arange(h, **index), torch.arange(w, **index), indexing='ij')  # [h, w] each
    omega = 1.0 / 10000 ** (torch.arange(dims // 4, dtype=torch.float64) / (dims / 4))  # [dims/4]

    def encode(pos: Tensor) -> Tensor:  # [h, w] -> [h*w, dims/2]
        out = pos.reshape(-1, 1) * omega
        return torch.cat([out.sin(), out.cos()], dim=1)

    table = torch.cat([encode(cols), encode(rows)], dim=1).float()  # [h*w, dims]
    if cls_token:
        table = torch.cat([table.new_zeros(1, dims), table], dim=0)
    return table.unsqueeze(0)


def check_mask_ratio(mask_ratio: float) -> float:
    """Return ``mask_ratio`` if it lies in (0, 1), else raise a message naming the fix."""
    if not isinstance(mask_ratio, (int, float)) or not 0.0 < float(mask_ratio) < 1.0:
        raise ValueError(
            f'mask_ratio={mask_ratio!r} is invalid: it must lie strictly between 0 and 1 '
            '(MCF and MAE use 0.75); fix `mask_ratio` in the model config.'
        )
    return float(mask_ratio)


def check_visible_patches(mask_ratio: float, num_patches: int) -> int:
    """Number of patches a ``mask_ratio`` keeps visible out of ``num_patches``; raise if none is left."""
    keep = int(num_patches * (1 - mask_ratio))
    if keep < 1:
        raise ValueError(
            f'mask_ratio={mask_ratio} keeps int({num_patches} * (1 - {mask_ratio})) = {keep} of '
            f'{num_patches} patches visible: the encoder would see no patch. Set `mask_ratio` to at most '
            f'{1 - 1 / num_patches:.6g}, or use more patches (a larger image or a smaller patch).'
        )
    return keep


def check_patch_grid(img_size: Union[int, Sequence[int]], patch_size: int) -> None:
    """Refuse an image size the patch size does not divide (the patch embedding would pad it silently)."""
    size, patch = to_2tuple(img_size), to_2tuple(patch_size)
    if any(s % p for s, p in zip(size, patch)):
        raise ValueError(
            f'img_size={tuple(size)} is not divisible by patch_size={patch_size}: the patch '
            'embedding would pad the image and the pixel targets would no longer line up. '
            f'Use an img_size that is a multiple of {patch_size} (e.g. '
            f'{tuple(max(p, s // p * p) for s, p in zip(size, patch))}), and resize the data to it.'
        )


@MODELS.register_module()
class FaceViT(VisionTransformer):
    """ViT for faces: per-sample random masking, fixed 2-D sin-cos position embeddings, intermediate features.

    Args:
        arch: 'tiny' | 'small' | 'base' | 'large' or an arch dict (embed_dims, num_layers, num_heads,
            feedforward_channels).
        mask_ratio: fraction of patches hidden by :meth:`forward_masked` (pre-training only).
        fixed_pos_embed: use non-trainable 2-D sin-cos position embeddings (MAE/MCF) instead of learned ones.
        sincos_layout: 'mmpretrain' (default) or 'mae' (the original MCF code's table), see :func:`sincos_pos_embed`.
        resize_input: if given, inputs are resized (bilinear) to this size inside the network, e.g. the
            downstream protocol feeds 512-px crops and runs the ViT at 448.
        **kwargs: passed to mmpretrain's VisionTransformer (img_size, patch_size, out_indices, ...).
    """

    def __init__(
        self,
        arch: Union[str, dict] = 'base',
        img_size: int = 224,
        patch_size: int = 16,
        mask_ratio: float = 0.75,
        fixed_pos_embed: bool = True,
        sincos_layout: str = 'mmpretrain',
        resize_input: Optional[int] = None,
        norm_cfg: dict = dict(type='LN', eps=1e-6),
        **kwargs,
    ) -> None:
        if isinstance(arch, str) and arch.lower() in FACE_VIT_ARCHS:
            arch = FACE_VIT_ARCHS[arch.lower()]
        check_patch_grid(img_size, patch_size)
        if sincos_layout not in SINCOS_LAYOUTS:
            raise ValueError(f'sincos_layout={sincos_layout!r} is invalid; choose one of {SINCOS_LAYOUTS}.')
        mask_ratio = check_mask_ratio(mask_ratio)
        super().__init__(arch=arch, img_size=img_size, patch_size=patch_size, norm_cfg=norm_cfg, **kwargs)
        self.patch_size = patch_size
        check_visible_patches(mask_ratio, self.patch_resolution[0] * self.patch_resolution[1])
        self.mask_ratio = mask_ratio
        self.fixed_pos_embed = fixed_pos_embed
        self.sincos_layout = sincos_layout
        self.resize_input = resize_input
        if fixed_pos_embed:
            self.pos_embed.requires_grad = False
            self.pos_embed.data.copy_(self._sincos_pos_embed())

    def _sincos_pos_embed(self) -> Tensor:
        return sincos_pos_embed(
            self.patch_resolution, self.embed_dims, self.num_extra_tokens > 0, self.sincos_layout
        )  # [1, T, D]

    def init_weights(self) -> None:
        """Random MAE-style init, or a format-aware load for ``init_cfg=dict(type='Pretrained', ...)``.

        The Pretrained dict accepts ``checkpoint`` and optionally ``source`` (format, default 'auto'),
        ``branch`` ('online' | 'target') and ``min_matched`` (fraction of tensors that must load).
        """
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            from mmengine.logging import MMLogger

            from mcf_mm.checkpoint import load_vit_weights

            load_vit_weights(
                self,
                cfg['checkpoint'],
                source=cfg.get('source', 'auto'),
                branch=cfg.get('branch', 'online'),
                min_matched=cfg.get('min_matched', 0.9),
                logger=MMLogger.get_current_instance(),
            )
            self._is_init = True
            return
        super().init_weights()
        if self.fixed_pos_embed:
            self.pos_embed.data.copy_(self._sincos_pos_embed())
        # MAE: initialise the patch projection like a linear layer.
        w = self.patch_embed.projection.weight.data
        torch.nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        if self.cls_token is not None:
            torch.nn.init.normal_(self.cls_token, std=0.02)

    # ------------------------------------------------------------------ embedding
    def _maybe_resize(self, x: Tensor) -> Tensor:
        if self.resize_input is not None and tuple(x.shape[-2:]) != (self.resize_input, self.resize_input):
            x = F.interpolate(x, size=(self.resize_input, self.resize_input), mode='bilinear', align_corners=False)
        return x

    def _embed(
        self, x: Tensor, mask: Optional[Tensor] = None, mask_token: Optional[Tensor] = None
    ) -> Tuple[Tensor, Tuple[int, int]]:
        """Patchify, optionally replace patches where ``mask`` [N, L] is 1 by ``mask_token`` [1, 1, D] (BEiT
        style), add position embeddings and the CLS token. Returns [N, 1+L, D] and the patch grid."""
        x, hw = self.patch_embed(self._maybe_resize(x))  # [N, L, D]
        if mask is not None:
            w = mask.flatten(1).unsqueeze(-1).type_as(x)  # [N, L, 1]
            x = x * (1 - w) + mask_token.type_as(x) * w
        pos = resize_pos_embed(
            self.pos_embed,
            self.patch_resolution,
            hw,
            mode=self.interpolate_mode,
            num_extra_tokens=self.num_extra_tokens,
        )  # [1, T, D]
        x = x + pos[:, self.num_extra_tokens :]
        if self.cls_token is not None:
            cls = self.cls_token + pos[:, :1]  # [1, 1, D]
            x = torch.cat([cls.expand(x.shape[0], -1, -1), x], dim=1)  # [N, 1+L, D]
        return self.pre_norm(self.drop_after_pos(x)), hw

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """mmpretrain's ViT forward (``out_indices`` / ``out_type`` / ``final_norm``), plus ``resize_input``.

        As in mmpretrain, every block runs and only the last block's output gets the final norm.
        """
        last = self.num_layers - 1
        x, hw = self._embed(x)  # [N, T, D]

        def output(i: int, f: Tensor) -> Tensor:  # f [N, T, D] -> mmpretrain's out_type
            return self._format_output(self.ln1(f) if i == last and self.final_norm else f, hw)

        return tuple(self.run_blocks(x, [*self.out_indices, last], output)[: len(self.out_indices)])

    def run_blocks(
        self, x: Tensor, indices: Sequence[int], out_fn: Optional[Callable[[int, Tensor], Tensor]] = None
    ) -> List[Tensor]:
        """The one block loop: embedded tokens [N, T, D] through blocks 0..max(indices).

        Returns the raw (unnormalised) output of each block in ``indices`` (0-based, negatives count from
        the end), in the order given, or ``out_fn(i, output)`` applied as soon as block ``i`` has run (which
        keeps autograd's accumulation order, hence gradients, bit-identical to mmpretrain's loop). Every
        feature path of this ViT (MCF, FaRL, teacher, downstream) runs through here.
        """
        for i in indices:
            if not -self.num_layers <= i < self.num_layers:
                raise IndexError(
                    f'block index {i} is out of range for a {self.num_layers}-block ViT; '
                    f'choose indices in [0, {self.num_layers - 1}].'
                )
        wanted = [i % self.num_layers for i in indices]
        if not wanted:
            return []
        found = {}
        for i, layer in enumerate(self.layers[: max(wanted) + 1]):
            x = layer(x)
            if i in wanted:
                found[i] = x if out_fn is None else out_fn(i, x)
        return [found[i] for i in wanted]

    # ------------------------------------------------------------------ masking
    # mmpretrain's MAE masking: per sample, keep int(L * (1 - ratio)) random patches.
    # (x [N, L, D], ratio) -> kept [N, K, D], mask [N, L] (1 = hidden), ids_restore [N, L].
    random_masking = MAEViT.random_masking

    def forward_masked(self, x: Tensor, mask_ratio: Optional[float] = None) -> Tuple[Tensor, Tensor, Tensor]:
        """Encode a randomly masked view (MAE style, final norm applied).

        Returns:
            tokens [N, 1+K, D] (CLS first), mask [N, L] (1 = hidden), ids_restore [N, L].
        """
        ratio = self.mask_ratio if mask_ratio is None else check_mask_ratio(mask_ratio)
        x, _ = self._embed(x)  # [N, 1+L, D]
        extra, patches = x[:, : self.num_extra_tokens], x[:, self.num_extra_tokens :]
        check_visible_patches(ratio, patches.shape[1])
        kept, mask, ids_restore = self.random_masking(patches, ratio)  # [N, K, D]
        x = self.run_blocks(torch.cat([extra, kept], dim=1), [-1])[0]  # [N, 1+K, D]
        return (self.ln1(x) if self.final_norm else x), mask, ids_restore

    # ------------------------------------------------------------------ features
    def get_intermediate_layers(
        self,
        x: Tensor,
        indices: Sequence[int],
        norm: bool = False,
        reshape: bool = True,
        mask: Optional[Tensor] = None,
        mask_token: Optional[Tensor] = None,
    ) -> List[Tensor]:
        """Outputs of the chosen blocks (0-based, negatives count from the end), the one feature API.

        Args:
            x: images [N, 3, H, W].
            indices: block indices, e.g. (3, 5, 7, 11).
            norm: apply the final norm to each output (the downstream protocol uses False).
            reshape: True -> patch maps [N, D, h, w] (CLS dropped); False -> all tokens [N, T, D].
            mask / mask_token: BEiT-style input masking (FaRL): patches where ``mask`` [N, L] is 1 are
                replaced by ``mask_token`` [1, 1, D] before the blocks.
        """
        if norm and not self.final_norm:
            raise ValueError('norm=True needs the final norm, but this FaceViT was built with final_norm=False.')
        x, (h, w) = self._embed(x, mask, mask_token)  # [N, T, D]
        outs = self.run_blocks(x, indices)
        if norm:
            outs = [self.ln1(o) for o in outs]
        if reshape:
            outs = [o[:, self.num_extra_tokens :].transpose(1, 2).reshape(o.shape[0], -1, h, w) for o in outs]
        return outs
