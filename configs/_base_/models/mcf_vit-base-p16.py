# MCF with a ViT-B/16 online encoder. Faithful switches are set in the recipe config.
model = dict(
    type='MCF',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True
    ),
    backbone=dict(type='FaceViT', arch='base', img_size=224, patch_size=16, mask_ratio=0.75),
    neck=dict(
        type='MAEPretrainDecoder',
        num_patches=196,
        patch_size=16,
        in_chans=3,
        embed_dim=768,
        decoder_embed_dim=512,
        decoder_depth=8,
        decoder_num_heads=16,
        mlp_ratio=4,
    ),
    head=dict(type='FeatureDistillHead', norm_dim='token', loss_weight=1000.0),
    # The frozen "partially pre-trained decoder": MoCo-v3 ViT-B/16 (keys module.base_encoder.*).
    target_generator=dict(
        type='FrozenViTTeacher',
        checkpoint='checkpoints/mocov3_vit-base-300ep.pth.tar',
        source='auto',
        out_indices=(2, 5, 8, 11),
        img_size=224,
    ),
    projector=dict(
        type='ProjectionMLP', in_channels=768, hid_channels=4096, out_channels=256, last_bn=True, last_bn_affine=False
    ),
    contrast_head=dict(
        type='ContrastivePredictionHead',
        temperature=0.2,
        loss_weight=1.0,
        predictor=dict(type='ProjectionMLP', in_channels=256, hid_channels=4096, out_channels=256, last_bn=False),
    ),
    momentum=0.99,
    ema_update='step',
    symmetric=False,
)
