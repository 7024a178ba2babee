# mmpretrain's MAE with the demo ViT at 32 px, patch 4: the same encoder and decoder as mcf_vit-demo-p4.py
# (at this scale no published teacher exists; an MAE encoder is MCF's honest stand-in teacher).
# At 64 px set img_size=64 and neck.num_patches=256.
_base_ = ['./vit-demo.py']
model = dict(
    type='MAE',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True
    ),
    backbone=dict(type='MAEViT', arch={{_base_.demo_arch}}, img_size=32, patch_size=4, mask_ratio=0.75),
    neck=dict(
        type='MAEPretrainDecoder',
        num_patches=64,
        patch_size=4,
        in_chans=3,
        embed_dim=96,
        decoder_embed_dim=64,
        decoder_depth=2,
        decoder_num_heads=2,
        mlp_ratio=4,
    ),
    head=dict(
        type='MAEPretrainHead', norm_pix=True, patch_size=4, loss=dict(type='PixelReconstructionLoss', criterion='L2')
    ),
)
