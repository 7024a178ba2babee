# Pre-training data: square face crops, resized to 224, random horizontal flip (ImageNet normalisation in the
# model's data preprocessor). data_root is an image folder; or set ann_file (a list of paths) or lmdb_path
# (+ ann_file of keys). Datasets live under data/ (or $MCF_MM_DATA): see configs/mcf/README.md.
data_root = '{{$MCF_MM_DATA:data}}/laion_face_cropped/'
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
