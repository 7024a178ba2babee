# CLIP's image-tower conventions, shared by FaRL pre-training (configs/farl/) and the models fine-tuned from
# it (projects/facer_attribute_head/): CLIP's normalisation of RGB input and a FaceViT with pre-norm, a learned
# position embedding, LN eps 1e-5, no patch bias and QuickGELU. Each model sets its type, sizes and outputs.
clip_mean = [0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255]
clip_std = [0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255]
model = dict(
    data_preprocessor=dict(mean=clip_mean, std=clip_std, to_rgb=True),
    backbone=dict(
        type='FaceViT',
        pre_norm=True,
        fixed_pos_embed=False,
        norm_cfg=dict(type='LN', eps=1e-5),
        patch_cfg=dict(bias=False),
        layer_cfgs=dict(act_cfg=dict(type='mmpretrain.QuickGELU')),
    ),
)
