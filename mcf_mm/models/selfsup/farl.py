"""FaRL pre-training: CLIP-style image-text contrast plus BEiT-style masked image modelling.

Clean and masked copies of each image run through the ViT in one doubled batch. The CLS token of the clean
copy (after the final norm, CLIP's ln_post) is projected to the joint space and contrasted with the text
embedding; the masked copy (masked patches replaced by a learnable [MASK] embedding) feeds the MIM head,
which predicts the visual-token ids the frozen tokenizer assigns to the clean image.
"""

from typing import Dict, List, Optional, Tuple

import torch
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample
from torch import Tensor, nn

from mcf_mm.registry import MODELS


@MODELS.register_module()
class FaRL(BaseSelfSupervisor):
    """FaRL algorithm.

    Args:
        backbone: the image ViT (:class:`FaceViT` with CLIP settings; ``final_norm=True`` is its ln_post).
        text_encoder: the text tower (:class:`CLIPTextTransformer`).
        head: the MIM head (:class:`FaRLMIMHead`).
        target_generator: the frozen visual tokenizer (:class:`VisualTokenizer`).
        itc_loss: the image-text loss (:class:`ImageTextContrastiveLoss`, holds the learnable temperature).
        embed_dim: joint embedding size (visual projection D -> embed_dim, no bias; CLIP's ``proj``).
        itc_weight / mim_weight: loss weights (FaRL: 1 and 1).
        use_mim: False trains image-text contrast only (no tokenizer needed).
    """

    def __init__(
        self,
        backbone: dict,
        text_encoder: dict,
        head: Optional[dict] = None,
        target_generator: Optional[dict] = None,
        itc_loss: dict = dict(type='ImageTextContrastiveLoss'),
        embed_dim: int = 512,
        itc_weight: float = 1.0,
        mim_weight: float = 1.0,
        use_mim: bool = True,
        data_preprocessor: Optional[dict] = None,
        init_cfg=None,
    ) -> None:
        if use_mim and (head is None or target_generator is None):
            raise ValueError(
                'FaRL with use_mim=True needs `head` (FaRLMIMHead) and `target_generator` '
                '(VisualTokenizer); set use_mim=False for image-text contrast only.'
            )
        super().__init__(
            backbone=backbone,
            head=head if use_mim else None,
            target_generator=target_generator if use_mim else None,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
        )
        if not getattr(self.backbone, 'final_norm', False):
            raise ValueError('FaRL needs the backbone final norm (CLIP ln_post): set final_norm=True.')
        dims = self.backbone.embed_dims
        self.text_encoder = MODELS.build(text_encoder)
        self.visual_proj = nn.Linear(dims, embed_dim, bias=False)
        self.itc_loss = MODELS.build(itc_loss)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dims))
        self.itc_weight, self.mim_weight, self.use_mim = itc_weight, mim_weight, use_mim

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        nn.init.normal_(self.visual_proj.weight, std=self.backbone.embed_dims**-0.5)

    def encode_tokens(self, img: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """ViT tokens after the final norm [N, T, D]; patches where ``mask`` [N, L] is 1 become [MASK]."""
        return self.backbone.get_intermediate_layers(
            img, [-1], norm=True, reshape=False, mask=mask, mask_token=self.mask_token
        )[0]

    def encode_image(self, img: Tensor) -> Tensor:
        """Joint-space image embedding [N, E] (unnormalised)."""
        return self.visual_proj(self.encode_tokens(img)[:, 0])

    def encode_text(self, tokens: Tensor) -> Tensor:
        """Joint-space text embedding [N, E] (unnormalised)."""
        return self.text_encoder(tokens)

    def extract_feat(self, inputs: Tensor, data_samples=None, **kwargs) -> Tuple[Tensor]:
        return self.backbone(inputs[0] if isinstance(inputs, (list, tuple)) else inputs)

    @staticmethod
    def _stack(data_samples: List[DataSample], key: str) -> Tensor:
        if not all(key in ds for ds in data_samples):
            fix = (
                "add TokenizeText and PackInputs(algorithm_keys=['text_tokens'])"
                if key == 'text_tokens'
                else 'add BEiTMaskGenerator before PackInputs'
            )
            raise KeyError(f'FaRL needs `{key}` in every data sample: {fix} in the train pipeline.')
        return torch.stack([torch.as_tensor(getattr(ds, key)) for ds in data_samples])

    def loss(self, inputs: Tensor, data_samples: List[DataSample], **kwargs) -> Dict[str, Tensor]:
        """Returns ``loss_itc`` and (with MIM) ``loss_mim`` (weighted), plus ``mim_acc`` and ``logit_scale``."""
        img = inputs[0] if isinstance(inputs, (list, tuple)) else inputs  # [N, 3, H, W]
        n = img.shape[0]
        tokens_txt = self._stack(data_samples, 'text_tokens').to(img.device)  # [N, Lt]
        losses = {}
        if self.use_mim:
            mask = self._stack(data_samples, 'mask').to(img.device).flatten(1)  # [N, L]
            both = torch.cat([img, img], dim=0)  # clean and masked copies in one batch
            keep = torch.cat([torch.zeros_like(mask), mask], dim=0)  # [2N, L]
            tokens = self.encode_tokens(both, keep)  # [2N, T, D]
            clean, masked = tokens[:n], tokens[n:]
            with torch.no_grad():
                target_ids = self.target_generator(img)  # [N, L]
            mim = self.head.loss(masked, target_ids, mask, self.backbone.num_extra_tokens)
            losses['loss_mim'] = self.mim_weight * mim['loss']
            losses['mim_acc'] = mim['accuracy']
        else:
            clean = self.encode_tokens(img)
        img_emb = self.visual_proj(clean[:, 0])  # [N, E]
        txt_emb = self.encode_text(tokens_txt)  # [N, E]
        losses['loss_itc'] = self.itc_weight * self.itc_loss(img_emb, txt_emb)
        losses['logit_scale'] = self.itc_loss.logit_scale.detach().exp()
        return losses
