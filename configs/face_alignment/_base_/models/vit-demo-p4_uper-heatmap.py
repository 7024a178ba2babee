# The alignment model scaled down for the CPU: the demo ViT (configs/_base_/models/vit-demo.py, patch 4) on
# 64² crops resized to 32 px inside the net (the demo's pre-training size; the protocol's 512 -> 448), all 4
# blocks (raw, no final norm) -> pyramid x[4, 2, 1, 0.5] -> UPerHead(32 ch). Random initialisation: a
# pre-trained variant sets backbone.init_cfg. Each config sets `model.head.decoder` to its dataset's `codec`.
_base_ = ['../../../_base_/models/vit-demo.py']
pretrained = None
model = dict(
    type='FaceLandmarkEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True
    ),
    backbone=dict(
        _scope_='mcf_mm',
        type='FaceViT',
        arch={{_base_.demo_arch}},
        img_size=32,
        patch_size=4,
        resize_input=32,
        out_indices=(0, 1, 2, 3),
        out_type='featmap',
        final_norm=False,
    ),
    neck=dict(type='mmseg.Feature2Pyramid', embed_dim=96, rescales=(4, 2, 1, 0.5), norm_cfg=dict(type='BN')),
    head=dict(
        type='UPerHeatmapHead',
        in_channels=96,
        num_keypoints=29,
        channels=32,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        norm_cfg=dict(type='BN', requires_grad=True),
    ),
    test_cfg=dict(flip_test=False),
)
