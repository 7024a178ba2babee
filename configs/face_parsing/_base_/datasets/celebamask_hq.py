# CelebAMask-HQ (19 classes): the 1024-px photos are first resized to their 512-px painted labels (the
# protocol's resolution), so in both pipelines the label is loaded before the face is put on the canvas; the
# canvas is the 512 image itself and there is no tanh warp (the shared pipeline's defaults); FaRL's warp
# convention is set for uniformity (with factor 0 both conventions give the same crop).
# Labels: tools/dataset_converters/celebamask_hq.py; split: CelebA's list_eval_partition.txt (copy it into
# data_root) via the release's CelebA-HQ-to-CelebA-mapping.txt.
_base_ = ['./face_parsing.py']
dataset_type = 'CelebAMaskHQDataset'
data_root = '{{$MCF_MM_DATA:data}}/CelebAMask-HQ'
pipeline_changes = dict(RoITanhWarp=dict(convention='farl'))
load_and_resize = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='ResizeImageToLabel')]
train_pipeline = load_and_resize + [
    dict(t, **pipeline_changes.get(t.type, {}))
    for t in _base_.train_pipeline
    if t.type not in ('LoadImageFromFile', 'LoadAnnotations')
]
test_pipeline = load_and_resize + [
    dict(t, **pipeline_changes.get(t.type, {}))
    for t in _base_.test_pipeline
    if t.type not in ('LoadImageFromFile', 'LoadAnnotations')
]
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
