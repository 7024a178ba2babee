# The alignment model scaled down for the CPU: the demo ViT (configs/_base_/models/vit-demo.py, patch 4) on
# 64² crops resized to 32 px inside the net (the demo's pre-training size; the protocol's 512 -> 448), all 4
# blocks (raw, no final norm) -> pyramid x[4, 2, 1, 0.5] -> UPerHead(32 ch) (the shared parts:
# ./uper-heatmap.py). Random initialisation: a pre-trained variant sets backbone.init_cfg. Each config sets
# `model.head.decoder` to its dataset's `codec`.
_base_ = ['./uper-heatmap.py', '../../../_base_/models/vit-demo.py']
pretrained = None
model = dict(
    # The CPU runs keep the fixed sin-cos position embedding their README results were measured with (the
    # ViT-B/16 reproduction trains it: fixed_pos_embed=False).
    backbone=dict(
        arch={{_base_.demo_arch}},
        img_size=32,
        patch_size=4,
        resize_input=32,
        out_indices=(0, 1, 2, 3),
        fixed_pos_embed=True,
    ),
    neck=dict(embed_dim=96, norm_cfg=dict(type='BN')),
    head=dict(in_channels=96, num_keypoints=29, channels=32, norm_cfg=dict(type='BN', requires_grad=True)),
)
