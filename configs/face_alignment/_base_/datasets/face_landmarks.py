# The FaRL/MCF alignment protocol's data side, written once for every landmark dataset: crop the face box
# (`FaceBoxCrop`: the box's longer side = face_scale of the crop; train-time rotation U(±10°), shift U(±5 %),
# scale U(±10 %)), occlusion / noise / grey / gamma / blur augmentation, no flip; Gaussian heatmap targets.
# Dataset bases (aflw19.py, 300w.py, wflw.py, helen29.py) set the dataset, its files and metric, and change
# only the transform values that differ through `pipeline_changes` (transform type -> new values).
# Data: data/<dataset> of the repository root (link it there), or a root of all datasets in $MCF_MM_DATA.
input_size = 512
face_scale = 0.8
codec = dict(type='FaRLHeatmapCodec', input_size=input_size, heatmap_size=128, sigma=1.25, radius=5.0)
data_mode = 'topdown'  # one face box per sample (mmpose's inferencers read it)
meta_keys = (
    'id',
    'img_id',
    'img_path',
    'ori_shape',
    'img_shape',
    'input_size',
    'input_center',
    'input_scale',
    'crop_matrix',
    'subsets',
    'dataset_name',
)
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='FaceBoxCrop', input_size=input_size, face_scale=face_scale, rotate=10, shift=0.05, scale=0.1),
    dict(type='RandomOcclusion', prob=0.5, max_frac=0.4),
    dict(type='NoiseBlend', prob=0.3, max_alpha=0.3),
    dict(type='RandomGray', prob=0.1),
    dict(type='RandomGamma', prob=0.5),
    dict(type='RandomBlur', prob=0.3),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='FaceBoxCrop', input_size=input_size, face_scale=face_scale),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
# 5 images per GPU (x 8 GPUs in the protocol).
train_dataloader = dict(
    batch_size=5,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=5,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(test_mode=True, pipeline=test_pipeline),
)
test_dataloader = val_dataloader
