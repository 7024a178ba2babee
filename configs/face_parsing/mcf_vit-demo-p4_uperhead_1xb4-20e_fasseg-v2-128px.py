# CPU config on the real FASSEG frontal set (V2 labels, 20 train / 50 test, 6 classes): the tiny demo ViT
# of configs/mcf/cpu_demo (96-d, 4 blocks, patch 4), a 128-px canvas resized to 64 inside the ViT, the
# FaRL augmentation, and the face F1 (5 classes without background) at original resolution.
# Random init by default; ..._pretrained.py starts from the CPU pre-training demo checkpoint.
_base_ = ['./_base_/runtime.py', './_base_/schedule_adamw_300e.py']
dataset_type = 'FASSEGDataset'
data_root = '../shared/data/fasseg'
canvas = 128
demo_arch = dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='FaceParsingEncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
                           size=(canvas, canvas)),
    backbone=dict(_scope_='mcf_mm', type='FaceViT', arch=demo_arch, img_size=64, patch_size=4,
                  resize_input=64, out_indices=(0, 1, 2, 3), out_type='featmap', final_norm=False,
                  init_cfg=None),
    neck=dict(type='Feature2Pyramid', embed_dim=96, rescales=[4, 2, 1, 0.5], norm_cfg=norm_cfg),
    decode_head=dict(type='UPerHead', in_channels=[96, 96, 96, 96], in_index=[0, 1, 2, 3],
                     pool_scales=(1, 2, 3, 6), channels=32, dropout_ratio=0.1, num_classes=6,
                     norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
# No landmarks in FASSEG: the whole photo is fitted into the canvas; no tanh warp.
align = dict(type='FaceAlign', canvas_size=canvas, source='image')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    align,
    dict(type='RandomFaceAffine', rotate_std=18.0, scale_std=0.1, shift=0.01),
    dict(type='RoITanhWarp', warp_factor=0.0, warp_label=True),
    dict(type='FaceRandomGray', prob=0.1),
    dict(type='FaceRandomGamma'),
    dict(type='FaceRandomBlur', max_ratio=0.01),
    dict(type='PackFaceSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    align,
    dict(type='RoITanhWarp', warp_factor=0.0, warp_label=False),
    dict(type='LoadAnnotations'),
    dict(type='PackFaceSegInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=1, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='RepeatDataset', times=5,
                 dataset=dict(type=dataset_type, data_root=data_root, version='V2', split='train',
                              pipeline=train_pipeline)))
test_dataloader = dict(
    batch_size=1, num_workers=1, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, version='V2', split='test', test_mode=True,
                 pipeline=test_pipeline))
val_dataloader = test_dataloader  # FASSEG has no validation split: validation here IS the test set
val_evaluator = dict(type='FaceF1Metric', background_index=0)
test_evaluator = val_evaluator
# Short CPU schedule: 500 iterations (each epoch = 5 passes over the 20 images = 25 iterations), same lr ratio as FaRL.
max_epochs = 20
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[15],
                        gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=25),
                     checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
                     visualization=dict(type='SegVisualizationHook', draw=False))
# EMA decay 0.99 (not 0.999): 0.999 averages over ~1000 steps, longer than this whole run.
custom_hooks = [dict(type='EMAHook', momentum=0.01, priority='ABOVE_NORMAL')]
