# FaRL/MCF downstream model: 512-px crop resized to 448 inside the ViT-B/16, raw outputs of blocks
# [3, 5, 7, 11] (no final norm) -> Feature2Pyramid(768, [4, 2, 1, 0.5]) -> UPerHead(768 ch, dropout 0.1)
# (the shared parts: ./uperhead.py).
_base_ = ['./uperhead.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
# Pre-trained backbone: any format mcf_mm reads (mcf_mm, MCF, MoCo-v3, timm, mmpretrain, CLIP/FaRL).
# Put the weights here, or override: --cfg-options model.backbone.init_cfg.checkpoint=PATH
pretrained = 'checkpoints/mcf_vit-base-p16_laion-face-16e.pth'
model = dict(
    data_preprocessor=dict(size=(512, 512)),  # the canvas of the crops
    backbone=dict(
        arch='base',
        fixed_pos_embed=False,  # FaRL's fine-tuning trains the position embedding
        drop_path_rate=0.0,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, source='auto', branch='online', min_matched=0.9),
    ),
    neck=dict(embed_dim=768, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=[768, 768, 768, 768], channels=768, num_classes=11, norm_cfg=norm_cfg),
)
