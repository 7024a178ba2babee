# The encoder and decoder of both demo pre-training models (mae_vit-demo-p4.py, mcf_vit-demo-p4.py): the demo
# ViT (./vit-demo.py) at 32 px, patch 4 (8 x 8 patches), a 2-block decoder of width 64.
# At 64 px set img_size=64 and neck.num_patches=256.
_base_ = ['./masked_pretrain.py', './vit-demo.py']
model = dict(
    backbone=dict(arch={{_base_.demo_arch}}, img_size=32, patch_size=4),
    neck=dict(num_patches=64, patch_size=4, embed_dim=96, decoder_embed_dim=64, decoder_depth=2, decoder_num_heads=2),
)
