# MCF with the demo ViT at 32 px, patch 4 (8 x 8 patches): the recipe's parts at toy width (encoder and
# decoder: ./masked_pretrain_vit-demo-p4.py). Its frozen teacher is an MAE encoder of the same size
# (mae_vit-demo-p4.py); each config names that checkpoint (model.target_generator.checkpoint).
# At 64 px set img_size=64 and neck.num_patches=256.
_base_ = ['./masked_pretrain_vit-demo-p4.py']
model = dict(
    type='MCF',
    backbone=dict(type='FaceViT', fixed_pos_embed=True),  # a fixed sin-cos table during pre-training
    head=dict(type='FeatureDistillHead', norm_dim='token', loss_weight=1000.0),
    target_generator=dict(type='FrozenViTTeacher', out_indices=(1, 3), num_heads=3, img_size=32),
    projector=dict(type='ProjectionMLP', in_channels=96, hid_channels=256, out_channels=64),
    contrast_head=dict(
        type='ContrastivePredictionHead',
        temperature=0.2,
        predictor=dict(type='ProjectionMLP', in_channels=64, hid_channels=256, out_channels=64, last_bn=False),
    ),
    momentum=0.99,
    ema_update='step',
)
