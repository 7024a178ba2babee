# FaRL/MCF downstream model: 512-px crop resized to 448 inside the ViT-B/16, raw outputs of blocks
# [3, 5, 7, 11] (no final norm) -> Feature2Pyramid(768, [4, 2, 1, 0.5]) -> UPerHead(768 ch, dropout 0.1).
norm_cfg = dict(type='SyncBN', requires_grad=True)
# Pre-trained backbone: any format mcf_mm reads (mcf_mm, MCF, MoCo-v3, timm, mmpretrain, CLIP/FaRL).
# Put the weights here, or override: --cfg-options model.backbone.init_cfg.checkpoint=PATH
pretrained = 'checkpoints/mcf_vit-base-p16_laion-face-16e.pth'
model = dict(
    type='FaceParsingEncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=(512, 512),
    ),  # the canvas of the crops
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
        drop_path_rate=0.0,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, source='auto', branch='online', min_matched=0.9),
    ),
    neck=dict(type='Feature2Pyramid', embed_dim=768, rescales=[4, 2, 1, 0.5], norm_cfg=norm_cfg),
    decode_head=dict(
        type='UPerHead',
        in_channels=[768, 768, 768, 768],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=768,
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
