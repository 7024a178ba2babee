# Shared by both demo stages: real face photographs bundled with scikit-image (100 LFW crops + the
# astronaut's face) at 32 px, and the schedule (the demo ViT itself: configs/_base_/models/vit-demo.py).
train_pipeline = [
    dict(type='Resize', scale=(32, 32), interpolation='bilinear', backend='cv2'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=[], meta_keys=['sample_idx']),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='RepeatDataset', times=4, dataset=dict(type='SkimageFaceDataset', pipeline=train_pipeline)),
)
# Shared schedule of both demo stages: AdamW, 1 warm-up epoch, cosine, 30 epochs on the CPU.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=29, by_epoch=True, begin=1, end=30, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30)
