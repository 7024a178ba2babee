# FASSEG (6 classes), frontal set with the V2 labels (20 train / 50 test): no landmarks, so the whole photo is
# fitted into a 128-px canvas; no tanh warp. FASSEG has no validation split: validation here IS the test set.
# The V3 multi-pose test set: version='V3' in test_dataloader.dataset.
_base_ = ['./face_parsing.py']
dataset_type = 'FASSEGDataset'
data_root = '{{$MCF_MM_DATA:data}}/fasseg'
canvas = 128
pipeline_changes = dict(FaceAlign=dict(canvas_size=canvas))
train_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.train_pipeline]
test_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.test_pipeline]
# Each epoch = 5 passes over the 20 training images (25 iterations of 4).
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',
        times=5,
        dataset=dict(type=dataset_type, data_root=data_root, version='V2', split='train', pipeline=train_pipeline),
    ),
)
test_dataloader = dict(
    num_workers=1, dataset=dict(type=dataset_type, data_root=data_root, version='V2', pipeline=test_pipeline)
)
val_dataloader = dict(
    num_workers=1,
    dataset=dict(type=dataset_type, data_root=data_root, version='V2', split='test', pipeline=test_pipeline),
)
