# Small-scale study (tools/analysis_tools/small_scale_study.py): unlabelled UTKFace crops at 64 px, a fixed
# iteration budget, the demo ViT (configs/_base_/models/vit-demo.py, patch 4) that the Helen-29/FASSEG configs
# fine-tune. Data: data/utkface (a link to the UTKFace folder), or $MCF_MM_DATA/utkface.
_base_ = ['../../_base_/default_runtime.py']
data_root = '{{$MCF_MM_DATA:data}}/utkface'
max_iters = 600
train_pipeline = [
    dict(type='Resize', scale=(64, 64), interpolation='bilinear', backend='cv2'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=[], meta_keys=['sample_idx']),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='FaceImageDataset', data_root=data_root, pipeline=train_pipeline),
)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=max_iters - 50, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
