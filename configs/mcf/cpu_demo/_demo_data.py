# Real face photographs bundled with scikit-image (100 LFW crops + the astronaut's face), at 32 px.
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
    dataset=dict(type='RepeatDataset', times=4,
                 dataset=dict(type='SkimageFaceDataset', pipeline=train_pipeline)),
)
# Tiny ViT used by both demo stages: 32 px, patch 4 (8x8 = 64 patches), 96-d, 4 blocks, 3 heads.
demo_arch = dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
