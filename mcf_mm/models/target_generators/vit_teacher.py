"""The frozen pre-trained ViT teacher of MCF ("partially pre-trained decoder" M1)."""

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import Tensor

from mcf_mm.checkpoint import FORMATS, infer_vit_arch, load_vit_weights, read_checkpoint, to_vit_state_dict
from mcf_mm.models.backbones import FaceViT
from mcf_mm.registry import MODELS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESIZE_MODES = ('bilinear', 'nearest')


@MODELS.register_module()
class FrozenViTTeacher(BaseModule):
    """A frozen ViT built from a checkpoint of any supported format; returns raw block outputs.

    Its weights are excluded from ``state_dict()`` (so every training checkpoint stays small) and are
    re-read from ``checkpoint`` whenever the model is built; it has no trainable parameters, hence no
    optimiser state.

    Args:
        checkpoint: path of the teacher checkpoint (MoCo-v3, timm/MAE, mmpretrain, CLIP/FaRL, mcf_mm, MCF).
        out_indices: 0-based blocks whose outputs (before the final norm, all tokens) are returned.
        source: checkpoint format or 'auto'.
        branch: which encoder of a two-encoder checkpoint ('online' | 'target').
        img_size: teacher input size; inputs of another size are resized with ``resize_mode``.
        resize_mode: 'bilinear' (align_corners=False) or 'nearest' (the original MCF code's
            ``F.interpolate`` default).
        data_mean / data_std: normalisation of the images it receives (the training data's).
        mean / std: normalisation the teacher expects; defaults to the data's, or CLIP's for CLIP checkpoints.
        num_heads: attention heads (not stored in weights; default width // 64).
        arch_overrides: extra FaceViT arguments, e.g. to force an arch instead of inferring it.
    """

    def __init__(
        self,
        checkpoint: str,
        out_indices: Sequence[int] = (2, 5, 8, 11),
        source: str = 'auto',
        branch: str = 'online',
        img_size: Optional[int] = None,
        resize_mode: str = 'bilinear',
        data_mean: Sequence[float] = IMAGENET_MEAN,
        data_std: Sequence[float] = IMAGENET_STD,
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        num_heads: Optional[int] = None,
        arch_overrides: Optional[dict] = None,
        init_cfg=None,
    ) -> None:
        super().__init__(init_cfg)
        if source != 'auto' and source not in FORMATS:
            raise ValueError(f'teacher source={source!r} is invalid; choose one of {FORMATS} or "auto".')
        if resize_mode not in RESIZE_MODES:
            raise ValueError(f'teacher resize_mode={resize_mode!r} is invalid; choose one of {RESIZE_MODES}.')
        self.resize_mode = resize_mode
        ckpt = read_checkpoint(checkpoint)  # fails fast on a missing or corrupt file
        sd, fmt, _ = to_vit_state_dict(ckpt, source, branch)
        kwargs = infer_vit_arch(sd, fmt, num_heads)
        if img_size is not None:
            kwargs['img_size'] = img_size
        kwargs.update(arch_overrides or {})
        self.vit = FaceViT(**{'fixed_pos_embed': False, **kwargs, 'final_norm': False})
        depth = self.vit.num_layers
        bad = [i for i in out_indices if not 0 <= i < depth]
        if bad:
            raise IndexError(
                f'teacher out_indices {bad} are out of range: the teacher in {checkpoint!r} has '
                f'{depth} blocks; use indices in [0, {depth - 1}] (ViT-B: (2, 5, 8, 11)).'
            )
        load_vit_weights(
            self.vit, checkpoint, source=fmt, branch=branch, min_matched=0.99, logger=MMLogger.get_current_instance()
        )
        self.source = fmt
        self.out_indices = tuple(out_indices)
        if mean is None and fmt == 'clip':
            mean, std = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)
        mean, std = mean or data_mean, std or data_std
        # x_teacher = x * scale + shift maps the data's normalisation to the teacher's.
        d_mean, d_std = torch.tensor(data_mean), torch.tensor(data_std)
        scale = d_std / torch.tensor(std)
        shift = (d_mean - torch.tensor(mean)) / torch.tensor(std)
        self.register_buffer('scale', scale.view(1, 3, 1, 1), persistent=False)
        self.register_buffer('shift', shift.view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.vit.eval()
        self._register_state_dict_hook(_drop_own_keys)
        self._register_load_state_dict_pre_hook(self._fill_own_keys)

    def init_weights(self) -> None:
        """Weights come from the checkpoint at construction; never re-initialise them."""
        self._is_init = True

    def train(self, mode: bool = True) -> 'FrozenViTTeacher':
        super().train(mode)
        self.vit.eval()  # always frozen: dropout/droppath off
        return self

    def forward(self, img: Tensor) -> List[Tensor]:
        """img [N, 3, H, W] in the data's normalisation -> per chosen block [N, 1+L, D]."""
        size = self.vit.img_size
        if tuple(img.shape[-2:]) != tuple(size):
            align = None if self.resize_mode == 'nearest' else False
            img = F.interpolate(img, size=size, mode=self.resize_mode, align_corners=align)  # [N, 3, *size]
        img = img * self.scale + self.shift
        return self.vit.get_intermediate_layers(img, self.out_indices, norm=False, reshape=False)

    def _fill_own_keys(self, state_dict, prefix, *args) -> None:
        """Checkpoints carry no teacher tensors: take the current ones so loading reports none missing."""
        for key, value in self.vit.state_dict(prefix=prefix + 'vit.').items():
            state_dict.setdefault(key, value)


def _drop_own_keys(module: FrozenViTTeacher, state_dict, prefix: str, local_metadata) -> None:
    for key in [k for k in state_dict if k.startswith(prefix)]:
        del state_dict[key]
