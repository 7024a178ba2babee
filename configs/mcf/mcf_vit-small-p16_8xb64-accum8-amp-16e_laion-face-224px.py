# ViT-S/16 variant of the recipe (384-d, 12 blocks, 6 heads) with the original's ViT-S decoder
# (mae_vit_small_patch16_dec256d2b: 256-d, 2 blocks, 16 heads of 16 dims); heads unchanged, teacher unchanged
# (ViT-B/16).
_base_ = ['./mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-224px.py']
model = dict(
    backbone=dict(arch='small'),
    neck=dict(embed_dim=384, decoder_embed_dim=256, decoder_depth=2, decoder_num_heads=16),
    projector=dict(in_channels=384),
)
