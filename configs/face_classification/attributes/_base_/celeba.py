# CelebA's 40 attributes from the release files (CelebAAttrDataset reads list_attr_celeba.txt and
# list_eval_partition.txt below data_root; images from img_align_celeba/, the aligned 178 x 218 crops).
# train 162,770 / val 19,867 / test 19,962. The aligned crop is resized to 224 x 224 (aspect not kept), bicubic;
# train: horizontal flip (the 40 attributes are mirror-invariant). Metric: mean over the 40 attributes of the
# per-attribute accuracy at sigmoid score >= 0.5 (attr/mean_accuracy), each attribute's accuracy too.
# Validation on the val split each epoch (it selects the best checkpoint); the test split once, by tools/test.py.
data_root = '{{$MCF_MM_DATA:data}}/celeba'
img_size = 224
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(img_size, img_size), interpolation='bicubic', backend='cv2'),
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
    dataset=dict(type='CelebAAttrDataset', data_root=data_root, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CelebAAttrDataset', data_root=data_root, split='val', pipeline=test_pipeline),
)
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
val_evaluator = dict(type='MeanAttributeAccuracy', thr=0.5)  # names from the dataset's classes
test_evaluator = val_evaluator
