# Pre-training data (METHOD.md §1): square face crops, resize to 224, random horizontal flip, ImageNet norm.
# Point data_root at an image folder, or set ann_file (list of paths) or lmdb_path (+ ann_file of keys).
data_root = 'data/laion_face_cropped/'
train_pipeline = [
    dict(type='Resize', scale=(224, 224), interpolation='bilinear', backend='cv2'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=[], meta_keys=['img_path', 'sample_idx']),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='FaceImageDataset', data_root=data_root, pipeline=train_pipeline),
)
