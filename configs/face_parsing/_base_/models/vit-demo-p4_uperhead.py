# The parsing model scaled down for the CPU: the demo ViT (configs/_base_/models/vit-demo.py, patch 4) on a
# 128-px canvas resized to 64 inside the ViT, all 4 blocks (raw, no final norm) -> Feature2Pyramid(96,
# [4, 2, 1, 0.5]) -> UPerHead(32 ch, dropout 0.1), BN (the shared parts: ./uperhead.py). Random
# initialisation (init_cfg=None).
_base_ = ['./uperhead.py', '../../../_base_/models/vit-demo.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=(128, 128)),  # the canvas of the crops
    backbone=dict(
        arch={{_base_.demo_arch}},
        img_size=64,
        patch_size=4,
        resize_input=64,
        out_indices=(0, 1, 2, 3),
        init_cfg=None,
        # kept fixed as in the README's CPU results; the ViT-B/16 reproduction trains it (False)
        fixed_pos_embed=True,
    ),
    neck=dict(embed_dim=96, norm_cfg=norm_cfg),
    decode_head=dict(in_channels=[96, 96, 96, 96], channels=32, num_classes=6, norm_cfg=norm_cfg),
)
