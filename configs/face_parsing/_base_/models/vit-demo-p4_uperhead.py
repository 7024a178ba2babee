# The parsing model scaled down for the CPU: the demo ViT (configs/_base_/models/vit-demo.py, patch 4) on a
# 128-px canvas resized to 64 inside the ViT, all 4 blocks (raw, no final norm) -> Feature2Pyramid(96,
# [4, 2, 1, 0.5]) -> UPerHead(32 ch, dropout 0.1), BN. Random initialisation (init_cfg=None).
_base_ = ['../../../_base_/models/vit-demo.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='FaceParsingEncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(128, 128),
    ),  # the canvas of the crops
    backbone=dict(
        _scope_='mcf_mm',
        type='FaceViT',
        arch={{_base_.demo_arch}},
        img_size=64,
        patch_size=4,
        resize_input=64,
        out_indices=(0, 1, 2, 3),
        out_type='featmap',
        final_norm=False,
        init_cfg=None,
    ),
    neck=dict(type='Feature2Pyramid', embed_dim=96, rescales=[4, 2, 1, 0.5], norm_cfg=norm_cfg),
    decode_head=dict(
        type='UPerHead',
        in_channels=[96, 96, 96, 96],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=32,
        dropout_ratio=0.1,
        num_classes=6,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
