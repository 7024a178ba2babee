# RAF-DB basic (7 expressions) on the release's aligned 100 x 100 faces, upsampled to 224 px: 12,271 train /
# 3,068 test images. RAF-DB has no validation split, so the test set is evaluated once, after the last epoch
# (train_cfg.val_interval = max_epochs in the task config); the reported number is that final epoch's.
# Augmentation: random resized crop (80-100 % of the area, bicubic) + horizontal flip; test: resize to 224.
data_root = '{{$MCF_MM_DATA:data}}/raf-db'
img_size = 224
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=img_size, crop_ratio_range=(0.8, 1.0), interpolation='bicubic', backend='cv2'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size), interpolation='bicubic', backend='cv2'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='RAFDBDataset', data_root=data_root, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='RAFDBDataset', data_root=data_root, split='test', pipeline=test_pipeline),
)
test_dataloader = val_dataloader
# overall accuracy and mean class accuracy (= macro recall: the mean over classes of the per-class accuracy)
val_evaluator = [
    dict(type='Accuracy', topk=(1,)),
    dict(type='SingleLabelMetric', items=('recall',), average='macro', prefix='mean-class-accuracy'),
]
test_evaluator = val_evaluator
