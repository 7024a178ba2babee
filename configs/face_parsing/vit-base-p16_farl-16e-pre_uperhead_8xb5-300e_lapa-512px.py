# LaPa with the FaRL protocol, fine-tuned from the official FaRL ViT-B/16 release (16 pre-training epochs)
# instead of MCF (published: FaRL 93.88, best test epoch): the MCF config with FaRL's image tower (CLIP
# conventions: pre-norm, learned and trained position embedding, LN eps 1e-5, no patch bias, QuickGELU) and
# CLIP's mean/std, which FaRL weights expect. The values are those of configs/_base_/models/clip_vit.py (a base
# here would clash with this config's model).
_base_ = ['./vit-base-p16_mcf-16e-pre_uperhead_8xb5-300e_lapa-512px.py']

pretrained = 'checkpoints/FaRL-Base-Patch16-LAIONFace20M-ep16.pth'  # CLIP `visual.*` keys, read directly
clip_mean = [0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255]
clip_std = [0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255]
model = dict(
    data_preprocessor=dict(mean=clip_mean, std=clip_std),
    backbone=dict(
        pre_norm=True,
        fixed_pos_embed=False,
        norm_cfg=dict(type='LN', eps=1e-5),
        patch_cfg=dict(bias=False),
        layer_cfgs=dict(act_cfg=dict(type='mmpretrain.QuickGELU')),
        init_cfg=dict(checkpoint=pretrained),
    ),
)
