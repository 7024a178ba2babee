# ViT-S/16 variant of the recipe (384-d, 12 blocks, 6 heads); decoder and heads unchanged, teacher unchanged.
_base_ = ['./mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-224px.py']
model = dict(
    backbone=dict(arch='small'),
    neck=dict(embed_dim=384),
    projector=dict(in_channels=384),
)
