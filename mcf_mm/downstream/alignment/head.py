"""UPer heatmap head: mmseg's UPerHead predicting K landmark maps, decoded by sigmoid-weighted soft-argmax."""

from typing import Sequence, Tuple, Union

import torch
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from mmpose.models.heads.base_head import BaseHead
from mmpose.registry import KEYPOINT_CODECS, MODELS
from mmpose.utils.typing import ConfigType, OptConfigType, OptSampleList, Predictions
from mmseg.models.decode_heads import UPerHead
from torch import Tensor

from .codec import soft_argmax


@MODELS.register_module()
class UPerHeatmapHead(BaseHead):
    """FaRL's alignment head: UPerHead -> K logit maps (112² for a 448-px ViT), sigmoid, soft-argmax.

    Args:
        in_channels: channels of each pyramid level (int = same for all 4).
        num_keypoints: K.
        channels: UPer width (768 in the protocol).
        pool_scales: PPM scales ((1, 2, 3, 6)); note its 1x1 branch has BN, so train batches need >= 2.
        dropout_ratio: dropout before the classifier (0.1).
        norm_cfg: norm of UPer's convs.
        heatmap_loss, point_loss: loss configs (weights 1:1 in the protocol).
        decoder: the codec config (gives the crop size for decoding).
    """

    def __init__(
        self,
        in_channels: Union[int, Sequence[int]],
        num_keypoints: int,
        channels: int = 768,
        pool_scales: Tuple[int, ...] = (1, 2, 3, 6),
        dropout_ratio: float = 0.1,
        norm_cfg: dict = dict(type='SyncBN', requires_grad=True),
        heatmap_loss: ConfigType = dict(type='UpsampledHeatmapBCELoss', loss_weight=1.0),
        point_loss: ConfigType = dict(type='MeanPointDistanceLoss', loss_weight=1.0),
        decoder: OptConfigType = None,
        init_cfg: OptConfigType = None,
    ) -> None:
        super().__init__(init_cfg)
        if isinstance(in_channels, int):
            in_channels = [in_channels] * 4
        self.num_keypoints = num_keypoints
        with DefaultScope.overwrite_default_scope('mmseg'):  # its unused CE loss lives in mmseg's registry
            self.uper = UPerHead(
                in_channels=list(in_channels),
                in_index=list(range(len(in_channels))),
                channels=channels,
                pool_scales=tuple(pool_scales),
                dropout_ratio=dropout_ratio,
                num_classes=num_keypoints,
                norm_cfg=norm_cfg,
                align_corners=False,
            )
        self.heatmap_loss = MODELS.build(heatmap_loss)
        self.point_loss = MODELS.build(point_loss)
        if decoder is None:
            raise ValueError(
                'UPerHeatmapHead needs `decoder` (e.g. dict(type="FaRLHeatmapCodec", '
                'input_size=512, heatmap_size=128)) to map maps back to crop pixels.'
            )
        self.decoder = KEYPOINT_CODECS.build(decoder)

    def forward(self, feats: Tuple[Tensor, ...]) -> Tensor:
        """Pyramid maps -> logits [N, K, h, w] at the resolution of the finest level."""
        return self.uper(list(feats))

    def predict(
        self, feats: Tuple[Tensor, ...], batch_data_samples: OptSampleList, test_cfg: OptConfigType = {}
    ) -> Predictions:
        """Keypoints in crop pixels [1, K, 2] and scores (peak sigmoid) [1, K] per sample."""
        if test_cfg.get('flip_test', False):
            raise ValueError(
                'flip_test is not part of the protocol and would need landmark swapping; '
                'set model.test_cfg.flip_test=False.'
            )
        probs = self.forward(feats).sigmoid()  # [N, K, h, w]
        coords = soft_argmax(probs)  # [N, K, 2] normalised
        size = torch.tensor(self.decoder.input_size, dtype=coords.dtype, device=coords.device)
        kpts = (coords * size - 0.5).detach().cpu().numpy()  # [N, K, 2] crop pixels
        scores = probs.flatten(2).amax(dim=-1).detach().cpu().numpy()  # [N, K]
        return [
            InstanceData(keypoints=kpts[i : i + 1], keypoint_scores=scores[i : i + 1]) for i in range(kpts.shape[0])
        ]

    def loss(self, feats: Tuple[Tensor, ...], batch_data_samples: OptSampleList, train_cfg: OptConfigType = {}) -> dict:
        logits = self.forward(feats)  # [N, K, h, w]
        gt_maps = torch.stack([d.gt_fields.heatmaps for d in batch_data_samples]).to(logits)  # [N, K, H, W]
        gt_pts = torch.cat([d.gt_instance_labels.keypoint_labels for d in batch_data_samples]).to(logits)
        pred_pts = soft_argmax(logits.sigmoid())  # [N, K, 2]
        return dict(loss_heatmap=self.heatmap_loss(logits, gt_maps), loss_point=self.point_loss(pred_pts, gt_pts))
