# ViT-B/16 on 512-px crops resized to 448 inside the net; raw outputs of blocks [3, 5, 7, 11] (no final
# norm) -> Feature2Pyramid(768, [4, 2, 1, 0.5]) -> UPerHead(768) -> K logit maps at 112², sigmoid,
# soft-argmax. Targets: Gaussians at 128² (sigma 1.25, radius 5). Loss: BCE (upsampled to 128²) + mean
# point distance, 1:1.
pretrained = 'checkpoints/mcf_vit-base-p16_laion-face-16e.pth'  # any format mcf_mm reads (MCF, FaRL, ...)
codec = dict(type='FaRLHeatmapCodec', input_size=512, heatmap_size=128, sigma=1.25, radius=5.0)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='FaceLandmarkEstimator',
    data_preprocessor=dict(type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        _scope_='mcf_mm', type='FaceViT', arch='base', img_size=448, patch_size=16, resize_input=448,
        out_indices=(3, 5, 7, 11), out_type='featmap', final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, source='auto', branch='online',
                      min_matched=0.9)),
    neck=dict(type='FacePyramidNeck', embed_dim=768, rescales=(4, 2, 1, 0.5), norm_cfg=norm_cfg),
    head=dict(type='UPerHeatmapHead', in_channels=768, num_keypoints=19, channels=768,
              pool_scales=(1, 2, 3, 6), dropout_ratio=0.1, norm_cfg=norm_cfg,
              heatmap_loss=dict(type='UpsampledHeatmapBCELoss', loss_weight=1.0),
              point_loss=dict(type='MeanPointDistanceLoss', loss_weight=1.0), decoder=codec),
    test_cfg=dict(flip_test=False))
