# MCF with a ViT-B/16 online encoder (the parts shared with MAE: ./masked_pretrain.py). Faithful switches are
# set in the recipe config.
_base_ = ['./masked_pretrain.py']
model = dict(
    type='MCF',
    # Pre-training keeps the position embedding a fixed 2-D sin-cos table (stated, not left to FaceViT's default).
    backbone=dict(type='FaceViT', arch='base', img_size=224, patch_size=16, fixed_pos_embed=True),
    neck=dict(
        num_patches=196, patch_size=16, embed_dim=768, decoder_embed_dim=512, decoder_depth=8, decoder_num_heads=16
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
    # The teacher sees the real and the pseudo image in two forwards (the original code). 'concat' stacks them in
    # one forward: the same losses and gradients (tests/models/test_teacher_batching.py), measured slower on CPU
    # because its backward also runs through the real half (docs/speed.md).
    teacher_batch='separate',
)
