# What the two CPU-sized pre-training setups share (cpu_demo/: the bundled faces, by epochs; small_scale/:
# UTKFace, by iterations): square face crops resized (32 px here; small_scale changes it to 64) with a
# horizontal flip, batches of 32, and AdamW (0.9, 0.95), lr 1.5e-3, wd 0.05 without decay on biases, norms and
# other 1-D parameters. Each setup sets its dataset, workers, sampler and schedule.
train_pipeline = [
    dict(type='Resize', scale=(32, 32), interpolation='bilinear', backend='cv2'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=[], meta_keys=['sample_idx']),
]
train_dataloader = dict(
    batch_size=32, sampler=dict(type='DefaultSampler', shuffle=True), collate_fn=dict(type='default_collate')
)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0),
)
