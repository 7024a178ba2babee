"""FaRL's image-text contrastive loss: CLIP's symmetric InfoNCE with a learnable temperature."""

import math
from typing import Tuple

import torch
import torch.nn.functional as F
from mmengine.dist import get_rank, get_world_size
from torch import Tensor, nn

from mcf_mm.registry import MODELS


def gather_with_grad(x: Tensor) -> Tensor:
    """All-gather [N, E] across processes; gradients flow back to each process's own slice."""
    if get_world_size() == 1:
        return x
    import torch.distributed.nn.functional as dist_nn

    return torch.cat(dist_nn.all_gather(x), dim=0)  # [W*N, E]


@MODELS.register_module()
class ImageTextContrastiveLoss(nn.Module):
    """L = (CE(s·I·Tᵀ, y) + CE(s·T·Iᵀ, y)) / 2 with L2-normalised embeddings, s = exp(logit_scale).

    Negatives are the embeddings of all processes; the labels of this process's rows are
    ``arange(N) + rank·N``.

    Args:
        init_temperature: initial τ (CLIP: 0.07, i.e. logit_scale = log(1/0.07)).
        max_logit_scale: clamp of s (CLIP: 100).
    """

    def __init__(self, init_temperature: float = 0.07, max_logit_scale: float = 100.0) -> None:
        super().__init__()
        if not 0 < init_temperature < 1:
            raise ValueError(f'init_temperature={init_temperature} must lie in (0, 1) (CLIP: 0.07).')
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature)))
        self.max_log_scale = math.log(max_logit_scale)

    def logits(self, img: Tensor, txt: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Returns image->text logits [N, W*N], text->image logits [N, W*N] and labels [N]."""
        img, txt = F.normalize(img, dim=-1), F.normalize(txt, dim=-1)  # [N, E]
        scale = self.logit_scale.clamp(max=self.max_log_scale).exp()
        all_img, all_txt = gather_with_grad(img), gather_with_grad(txt)  # [W*N, E]
        labels = torch.arange(img.shape[0], device=img.device) + get_rank() * img.shape[0]
        return scale * img @ all_txt.t(), scale * txt @ all_img.t(), labels

    def forward(self, img: Tensor, txt: Tensor) -> Tensor:
        """img, txt: paired embeddings [N, E] -> scalar loss."""
        if img.shape != txt.shape:
            raise ValueError(
                f'image embeddings {tuple(img.shape)} and text embeddings {tuple(txt.shape)} must '
                'have the same shape; check embed_dim of the visual projection and text tower.'
            )
        logits_i, logits_t, labels = self.logits(img, txt)
        return (F.cross_entropy(logits_i, labels) + F.cross_entropy(logits_t, labels)) / 2
