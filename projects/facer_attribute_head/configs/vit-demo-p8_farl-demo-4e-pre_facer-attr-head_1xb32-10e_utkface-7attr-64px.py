# CPU demo of the project: the facer attribute head on the demo ViT with CLIP settings (patch 8), fine-tuned
# from the FaRL CPU demo (configs/farl/farl_vit-demo-p8_*, 4 epochs); 7 binary attributes derived from UTKFace
# labels, 64 px. Set `model.backbone.init_cfg=None` to train from scratch. Run from the repository root.
# Images: data/utkface (a link to the UTKFace folder), or $MCF_MM_DATA/utkface.
_base_ = [
    '../../../configs/_base_/default_runtime.py',
    '../../../configs/_base_/models/vit-demo.py',
    '../../../configs/_base_/models/clip_vit.py',  # CLIP's normalisation and ViT conventions, as in FaRL
]
custom_imports = dict(
    imports=['mcf_mm', 'mcf_mm.models', 'mcf_mm.engine', 'projects.facer_attribute_head.facer_attr'],
    allow_failed_imports=False,
)

pretrained = 'work_dirs/demo/farl/epoch_4.pth'
attributes = ['female', 'child', 'elderly', 'white', 'black', 'asian', 'indian']
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor'),
    backbone=dict(
        arch={{_base_.demo_arch}},
        img_size=64,
        patch_size=8,
        out_type='raw',
        out_indices=(1, 3),
        final_norm=False,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained),
    ),
    neck=None,
    head=dict(type='FacerAttributeHead', num_classes=len(attributes), in_channels=96, num_layers=2, dropout=0.1),
)

img_dir = '{{$MCF_MM_DATA:data}}/utkface/data/images'
ann_root = 'work_dirs/demo/facer_attr_ann/'  # made by tools/make_attribute_annotations.py (see README)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), interpolation='bilinear', backend='cv2'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),  # attributes are flip-invariant
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), interpolation='bilinear', backend='cv2'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='MultiLabelDataset',
        data_root='',
        ann_file=ann_root + 'train.json',
        data_prefix=dict(img_path=img_dir),
        pipeline=train_pipeline,
    ),
)
# Validation: the same loader on val.json, in order, with the test pipeline and twice the batch.
val_dataloader = dict(
    train_dataloader,
    batch_size=64,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(train_dataloader['dataset'], ann_file=ann_root + 'val.json', pipeline=test_pipeline),
)
val_evaluator = dict(type='MeanAttributeAccuracy', attribute_names=attributes)
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(
        bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0, custom_keys={'backbone': dict(lr_mult=0.3)}
    ),
)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=10, by_epoch=True, convert_to_iter_based=True)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=5)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=5, max_keep_ckpts=1))
custom_hooks = [dict(type='RNGStateHook')]
