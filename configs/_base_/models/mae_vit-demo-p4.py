# mmpretrain's MAE with the demo ViT at 32 px, patch 4: the same encoder and decoder as mcf_vit-demo-p4.py
# (both from ./masked_pretrain_vit-demo-p4.py; at this scale no published teacher exists; an MAE encoder is
# MCF's honest stand-in teacher). At 64 px set img_size=64 and neck.num_patches=256.
_base_ = ['./masked_pretrain_vit-demo-p4.py']
model = dict(
    type='MAE',
    backbone=dict(type='MAEViT'),
    head=dict(
        type='MAEPretrainHead', norm_pix=True, patch_size=4, loss=dict(type='PixelReconstructionLoss', criterion='L2')
    ),
)
