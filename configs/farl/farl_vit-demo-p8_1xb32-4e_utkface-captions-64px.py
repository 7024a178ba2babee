# FaRL CPU demo: the full algorithm (image-text contrast + MIM) at toy scale on 2 CPU cores, in minutes (the
# parts shared with the ViT-B/16 recipe: configs/_base_/models/farl.py).
# Data: UTKFace crops with captions made from their labels, written as img2dataset-style shards, and a k-means
# visual tokenizer fitted on them (see configs/farl/README.md for the two commands that make both).
_base_ = ['../_base_/default_runtime.py', '../_base_/models/farl.py', '../_base_/models/vit-demo.py']

model = dict(
    backbone=dict(arch={{_base_.demo_arch}}, img_size=64, patch_size=8),
    text_encoder=dict(context_length=32, width=64, layers=2, heads=2, embed_dim=64),
    embed_dim=64,
    head=dict(embed_dims=96, vocab_size=256, num_layers=1, num_heads=3),
    target_generator=dict(
        encoder=dict(type='PatchKMeansEncoder', patch_size=8, num_tokens=256),
        checkpoint='work_dirs/demo/farl_tokenizer/kmeans256_p8_64px.pth',
        input_size=64,
        pixel_map='unit',
    ),
)

data_root = 'work_dirs/demo/farl_shards/'
train_pipeline = [
    dict(type='Resize', scale=(64, 64), interpolation='bilinear', backend='cv2'),
    dict(type='BEiTMaskGenerator', input_size=(8, 8), num_masking_patches=26, min_num_patches=4),  # ~40 %
    dict(type='TokenizeText', context_length=32),
    dict(type='PackInputs', algorithm_keys=['text_tokens'], meta_keys=['key', 'sample_idx']),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,  # explicit: upstream mmpretrain tools/train.py defaults it to True (needs workers)
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ImageTextTarDataset', data_root=data_root, shards='*.tar', pipeline=train_pipeline),
)

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.05),
    paramwise_cfg=dict(
        bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0, custom_keys={'logit_scale': dict(decay_mult=0.0)}
    ),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=3, eta_min=0.0, by_epoch=True, begin=1, end=4, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=4)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=2, max_keep_ckpts=2))
