# ViT-B/16 on 512-px crops resized to 448 inside the net; raw outputs of blocks [3, 5, 7, 11] (no final
# norm) -> Feature2Pyramid(768, [4, 2, 1, 0.5]) -> UPerHead(768) -> K logit maps at 112², sigmoid,
# soft-argmax (the shared parts: ./uper-heatmap.py). Loss: BCE (upsampled to the target maps) + mean point
# distance, 1:1. The heatmap codec (`decoder`) belongs to the data: each config sets `model.head.decoder` to
# its dataset base's `codec`.
# Pre-trained backbone: any format mcf_mm reads (mcf_mm, MCF, MoCo-v3, timm, mmpretrain, CLIP/FaRL); put it
# here or override with --cfg-options model.backbone.init_cfg.checkpoint=PATH.
_base_ = ['./uper-heatmap.py']
pretrained = 'checkpoints/mcf_vit-base-p16_laion-face-16e.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        arch='base',
        fixed_pos_embed=False,  # FaRL's fine-tuning trains the position embedding
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, source='auto', branch='online', min_matched=0.9),
    ),
    neck=dict(embed_dim=768, norm_cfg=norm_cfg),
    head=dict(
        in_channels=768,
        num_keypoints=19,
        channels=768,
        norm_cfg=norm_cfg,
        heatmap_loss=dict(type='UpsampledHeatmapBCELoss', loss_weight=1.0),
        point_loss=dict(type='MeanPointDistanceLoss', loss_weight=1.0),
    ),
)
