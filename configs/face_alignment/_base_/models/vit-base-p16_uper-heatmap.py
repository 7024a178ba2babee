# ViT-B/16 on 512-px crops resized to 448 inside the net; raw outputs of blocks [3, 5, 7, 11] (no final
# norm) -> Feature2Pyramid(768, [4, 2, 1, 0.5]) -> UPerHead(768) -> K logit maps at 112², sigmoid,
# soft-argmax. Loss: BCE (upsampled to the target maps) + mean point distance, 1:1. The heatmap codec
# (`decoder`) belongs to the data: each config sets `model.head.decoder` to its dataset base's `codec`.
# Pre-trained backbone: any format mcf_mm reads (mcf_mm, MCF, MoCo-v3, timm, mmpretrain, CLIP/FaRL); put it
# here or override with --cfg-options model.backbone.init_cfg.checkpoint=PATH.
pretrained = 'checkpoints/mcf_vit-base-p16_laion-face-16e.pth'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='FaceLandmarkEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True
    ),
    backbone=dict(
        _scope_='mcf_mm',
        type='FaceViT',
        arch='base',
        img_size=448,
        patch_size=16,
        resize_input=448,
        out_indices=(3, 5, 7, 11),
        out_type='featmap',
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, source='auto', branch='online', min_matched=0.9),
    ),
    neck=dict(type='mmseg.Feature2Pyramid', embed_dim=768, rescales=(4, 2, 1, 0.5), norm_cfg=norm_cfg),
    head=dict(
        type='UPerHeatmapHead',
        in_channels=768,
        num_keypoints=19,
        channels=768,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        heatmap_loss=dict(type='UpsampledHeatmapBCELoss', loss_weight=1.0),
        point_loss=dict(type='MeanPointDistanceLoss', loss_weight=1.0),
    ),
    test_cfg=dict(flip_test=False),
)
