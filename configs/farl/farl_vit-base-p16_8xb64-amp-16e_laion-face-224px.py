# FaRL pre-training: CLIP ViT-B/16 image tower + CLIP text transformer, symmetric image-text InfoNCE with a
# learnable temperature, plus BEiT-style MIM (blockwise ~40 % masking, [MASK] embedding, small extra
# transformer, classifier over the 8192 DALL-E visual tokens); the parts shared with the CPU demo are in
# configs/_base_/models/farl.py. 224 px, 16 epochs, LAION-Face image-text pairs as img2dataset tar shards. No
# pre-training code was released: values marked (paper?) are this toolbox's choices (CLIP-style), not
# confirmed from the authors' code.
_base_ = ['../_base_/default_runtime.py', '../_base_/models/farl.py', '../_base_/datasets/face_pretrain_224.py']

model = dict(
    backbone=dict(arch='base', img_size=224, patch_size=16, drop_path_rate=0.0),  # CLIP ViT-B/16
    text_encoder=dict(context_length=77, width=512, layers=12, heads=8, embed_dim=512),
    embed_dim=512,
    itc_loss=dict(max_logit_scale=100.0),
    head=dict(embed_dims=768, vocab_size=8192, num_layers=2, num_heads=12),  # depth (paper?)
    target_generator=dict(  # DALL-E encoder weights as converted by OpenMMLab (BEiT/CAE), 112-px input
        encoder=dict(type='DALL-E'),
        checkpoint='checkpoints/dalle_encoder.pth',  # download.openmmlab.com/mmselfsup/1.x/target_generator_ckpt/
        input_size=112,
        pixel_map='dalle',
    ),
    itc_weight=1.0,
    mim_weight=1.0,
)
# DALL-E sees 112 px -> 14x14 tokens = the ViT-B/16 patch grid at 224 px.

# img2dataset output: 00000.tar, 00001.tar, ... (jpg + txt + json), in data/ or $MCF_MM_DATA
data_root = '{{$MCF_MM_DATA:data}}/laion_face/shards/'
train_pipeline = [
    dict(type='Resize', scale=(224, 224), interpolation='bicubic', backend='cv2'),
    dict(type='BEiTMaskGenerator', input_size=(14, 14), num_masking_patches=75, min_num_patches=16),  # ~40 %
    dict(type='TokenizeText', context_length=77),
    dict(type='PackInputs', algorithm_keys=['text_tokens'], meta_keys=['key', 'sample_idx']),
]
# The loader of the face-crop pre-training data (../_base_/datasets/face_pretrain_224.py) on the shards.
train_dataloader = dict(
    dataset=dict(type='ImageTextTarDataset', data_root=data_root, shards='*.tar', pipeline=train_pipeline)
)

# (paper?) CLIP-style optimisation: AdamW (0.9, 0.98), eps 1e-6, wd 0.05 off for biases/norms/embeddings and
# the temperature; lr 5e-4 for 512 images per step, 1 warm-up epoch, cosine to 0; mixed precision.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.05),
    paramwise_cfg=dict(
        bias_decay_mult=0.0,
        norm_decay_mult=0.0,
        flat_decay_mult=0.0,
        custom_keys={
            'logit_scale': dict(decay_mult=0.0),
            'mask_token': dict(decay_mult=0.0),
            'cls_token': dict(decay_mult=0.0),
            'pos_embed': dict(decay_mult=0.0),
            'positional_embedding': dict(decay_mult=0.0),
            'token_embedding': dict(decay_mult=0.0),
        },
    ),
    clip_grad=dict(max_norm=3.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=15, eta_min=0.0, by_epoch=True, begin=1, end=16, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=16)
auto_scale_lr = dict(base_batch_size=512)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=1, max_keep_ckpts=3))
