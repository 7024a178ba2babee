"""Frozen visual tokenizers that turn images into discrete token ids (targets of FaRL's MIM branch).

``VisualTokenizer`` wraps any encoder from the registry whose output is either per-position logits
[N, V, h, w] (e.g. mmpretrain's ``DALL-E`` encoder, vocabulary 8192) or ids [N, h*w] (e.g. ``VQKD``), and
loads its weights from a checkpoint. ``PatchKMeansEncoder`` is a small learned-offline tokenizer (k-means
codebook over raw patches) for CPU demos and tests.
"""

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import Tensor, nn

from mcf_mm.checkpoint import read_checkpoint
from mcf_mm.registry import MODELS

PIXEL_MAPS = ('dalle', 'unit')
DALLE_EPS = 0.1


def patchify(x: Tensor, patch: int) -> Tensor:
    """[N, C, H, W] -> [N, L, p*p*C] (row-major patches; pixels (p, q, c) order)."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // patch, patch, w // patch, patch)
    return torch.einsum('nchpwq->nhwpqc', x).reshape(n, (h // patch) * (w // patch), patch * patch * c)


@MODELS.register_module()
class PatchKMeansEncoder(nn.Module):
    """Scores every patch against a k-means codebook: logits = −‖patch − c_k‖² → [N, K, h, w].

    Args:
        patch_size: patch side in pixels (of the tokenizer's input).
        num_tokens: codebook size K.
        in_channels: image channels.
    """

    def __init__(self, patch_size: int = 8, num_tokens: int = 256, in_channels: int = 3) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.register_buffer('codebook', torch.zeros(num_tokens, patch_size * patch_size * in_channels))

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        patches = patchify(x, self.patch_size)  # [N, L, P]
        dist = torch.cdist(patches, self.codebook.unsqueeze(0).expand(n, -1, -1)) ** 2  # [N, L, K]
        logits = -dist.transpose(1, 2)  # [N, K, L]
        return logits.reshape(n, -1, h // self.patch_size, w // self.patch_size)


def fit_patch_kmeans(patches: Tensor, num_tokens: int, iters: int = 20, seed: int = 0) -> Tensor:
    """Lloyd's k-means on patch vectors [M, P] in [0, 1]; returns the codebook [K, P]."""
    if patches.shape[0] < num_tokens:
        raise ValueError(f'{patches.shape[0]} patches cannot fit {num_tokens} tokens; use more images.')
    g = torch.Generator().manual_seed(seed)
    centres = patches[torch.randperm(patches.shape[0], generator=g)[:num_tokens]].clone()  # [K, P]
    for _ in range(iters):
        assign = torch.cdist(patches, centres).argmin(dim=1)  # [M]
        sums = torch.zeros_like(centres).index_add_(0, assign, patches)
        counts = torch.bincount(assign, minlength=num_tokens).unsqueeze(1)  # [K, 1]
        empty = counts.squeeze(1) == 0
        centres = torch.where(empty.unsqueeze(1), centres, sums / counts.clamp(min=1))
    return centres


@MODELS.register_module()
class VisualTokenizer(BaseModule):
    """Frozen image -> visual-token ids [N, h*w], loaded from a checkpoint.

    Args:
        encoder: registry config of the tokenizer network (e.g. ``dict(type='DALL-E')`` or
            ``dict(type='PatchKMeansEncoder', ...)``).
        checkpoint: its weights (read with ``weights_only=True``); None only for tests of the wiring.
        prefix: key prefix to strip in the checkpoint (e.g. 'encoder.').
        input_size: the tokenizer's input size (images are resized to it; DALL-E in BEiT: 112).
        data_mean / data_std: normalisation of the images it receives (0-255 scale, as the data
            preprocessor's); they are mapped back to [0, 1] pixels.
        pixel_map: 'dalle' (x·(1−2ε)+ε, ε = 0.1, DALL-E's map_pixels) or 'unit' (plain [0, 1]).
    """

    def __init__(
        self,
        encoder: dict,
        checkpoint: Optional[str],
        prefix: str = '',
        input_size: int = 112,
        data_mean: Sequence[float] = (123.675, 116.28, 103.53),
        data_std: Sequence[float] = (58.395, 57.12, 57.375),
        pixel_map: str = 'dalle',
        init_cfg=None,
    ) -> None:
        super().__init__(init_cfg)
        if pixel_map not in PIXEL_MAPS:
            raise ValueError(f'pixel_map={pixel_map!r} is invalid; choose one of {PIXEL_MAPS}.')
        self.encoder = MODELS.build(encoder)
        self.input_size, self.pixel_map = input_size, pixel_map
        self.register_buffer('mean', torch.tensor(data_mean).view(1, 3, 1, 1) / 255.0, persistent=False)
        self.register_buffer('std', torch.tensor(data_std).view(1, 3, 1, 1) / 255.0, persistent=False)
        if checkpoint is not None:
            self._load(checkpoint, prefix)
        self.requires_grad_(False)
        self.encoder.eval()
        self._register_state_dict_hook(_drop_own_keys)
        self._register_load_state_dict_pre_hook(self._fill_own_keys)

    def _load(self, checkpoint: str, prefix: str) -> None:
        ckpt = read_checkpoint(checkpoint)
        sd = ckpt.get('state_dict', ckpt.get('model', ckpt))
        sd = {k[len(prefix) :]: v for k, v in sd.items() if k.startswith(prefix) and torch.is_tensor(v)}
        own = self.encoder.state_dict()
        missing = [k for k in own if k not in sd]
        bad = [(k, tuple(sd[k].shape), tuple(v.shape)) for k, v in own.items() if k in sd and sd[k].shape != v.shape]
        if missing or bad:
            raise ValueError(
                f'visual tokenizer checkpoint {checkpoint!r} does not fit the encoder '
                f'{type(self.encoder).__name__}: missing {missing[:5]}, shape mismatches {bad[:3]}. '
                'Check `encoder` and `prefix` in the tokenizer config.'
            )
        self.encoder.load_state_dict({k: sd[k] for k in own}, strict=True)
        MMLogger.get_current_instance().info(
            f'Visual tokenizer: loaded {len(own)}/{len(own)} tensors from {checkpoint}.'
        )

    def init_weights(self) -> None:
        """Weights come from the checkpoint; never re-initialise them."""
        self._is_init = True

    def train(self, mode: bool = True) -> 'VisualTokenizer':
        super().train(mode)
        self.encoder.eval()
        return self

    @torch.no_grad()
    def forward(self, img: Tensor) -> Tensor:
        """img [N, 3, H, W] in the data's normalisation -> token ids [N, h*w]."""
        x = img * self.std + self.mean  # [0, 1] pixels
        if tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode='bilinear', align_corners=False)
        x = x.clamp(0, 1)
        if self.pixel_map == 'dalle':
            x = (1 - 2 * DALLE_EPS) * x + DALLE_EPS
        out = self.encoder(x)
        if out.dim() == 4:  # logits [N, V, h, w]
            return out.argmax(dim=1).flatten(1)
        return out.flatten(1).long()  # already ids

    def _fill_own_keys(self, state_dict, prefix, *args) -> None:
        for key, value in self.encoder.state_dict(prefix=prefix + 'encoder.').items():
            state_dict.setdefault(key, value)


def _drop_own_keys(module: nn.Module, state_dict, prefix: str, local_metadata) -> None:
    """The tokenizer is frozen and re-read from its checkpoint: keep it out of training checkpoints."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        del state_dict[key]
