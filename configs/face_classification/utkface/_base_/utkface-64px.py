# UTKFace aligned crops (200 x 200) at 64 px for the CPU demo ViT (random init; the runtime and model bases):
# the fixed split of UTKFaceDataset (SHA-1 of the file name: 70 % train / 10 % val / 20 % test), a horizontal
# flip for training, full fine-tuning with AdamW (lr 1e-3, wd 0.05, none on biases, norms and 1-D parameters),
# one warm-up epoch then cosine to 1e-6, by iteration. Each task config sets the datasets' `task`, `model.head`
# and the metric.
_base_ = ['../../_base_/default_runtime.py', '../../_base_/models/vit-demo-p4_cls.py']
data_root = '{{$MCF_MM_DATA:data}}/utkface'
img_size = 64
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size), interpolation='bilinear', backend='cv2'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('gt_value',)),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size), interpolation='bilinear', backend='cv2'),
    dict(type='PackInputs', algorithm_keys=('gt_value',)),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='UTKFaceDataset', data_root=data_root, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='UTKFaceDataset', data_root=data_root, split='val', pipeline=test_pipeline),
)
test_dataloader = dict(
    batch_size=128,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='UTKFaceDataset', data_root=data_root, split='test', pipeline=test_pipeline),
)
max_epochs = 4
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs, eta_min=1e-6, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
