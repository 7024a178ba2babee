# AffectNet, manually annotated part: training.csv for training, validation.csv (the official test set) for
# evaluation; `affectnet_classes` = 7 (Contempt dropped) or 8; expressions 8+ (None, Uncertain, Non-Face) are
# always dropped. Faces are cut from the photographs with the CSV's box (CropFaceBox: square about the box, its
# longer side, no margin) at 224 px. Training draws classes equally often (ClassBalancedSampler; switch it off
# with --cfg-options train_dataloader.sampler.type=DefaultSampler train_dataloader.sampler.shuffle=True).
# Augmentation: random resized crop (80-100 % of the area, bicubic) + horizontal flip.
data_root = '{{$MCF_MM_DATA:data}}/affectnet'
img_size = 224
affectnet_classes = 7
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CropFaceBox', size=img_size, margin=0.0),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.8, 1.0), interpolation='bicubic', backend='cv2'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CropFaceBox', size=img_size, margin=0.0),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='ClassBalancedSampler'),
    dataset=dict(
        type='AffectNetDataset',
        data_root=data_root,
        split='train',
        num_classes=affectnet_classes,
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='AffectNetDataset', data_root=data_root, split='val', num_classes=affectnet_classes, pipeline=test_pipeline
    ),
)
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='Accuracy', topk=(1,)),
    dict(type='SingleLabelMetric', items=('recall',), average='macro', prefix='mean-class-accuracy'),
]
test_evaluator = val_evaluator
