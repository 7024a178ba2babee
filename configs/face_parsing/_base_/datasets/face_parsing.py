# The FaRL/MCF face parsing protocol's data side, written once for every parsing dataset: put the face on a
# square canvas (`FaceAlign`), compose the training augmentation into that matrix (rotation N(0, 18°), scale
# N(1, 0.1), shift U(±1 %)), warp once (`RoITanhWarp`, factor 0 = plain affine; bilinear image, nearest
# labels), then grey p=0.1, gamma, box blur up to 1 % of the size; no flip. At test time only the image is
# warped; the segmentor warps the logits back and the metric reads the original label image.
# Dataset bases (lapa.py, celebamask_hq.py, fasseg.py) set the dataset and change only the transform values
# that differ through `pipeline_changes` (transform type -> new values).
# Data: data/<dataset> of the repository root (link it there), or a root of all datasets in $MCF_MM_DATA.
canvas = 512
warp_factor = 0.0
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='FaceAlign', canvas_size=canvas, source='image'),
    dict(type='RandomFaceAffine', rotate_std=18.0, scale_std=0.1, shift=0.01),
    dict(type='RoITanhWarp', warp_factor=warp_factor, warp_label=True),
    dict(type='FaceRandomGray', prob=0.1),
    dict(type='FaceRandomGamma'),
    dict(type='FaceRandomBlur', max_ratio=0.01),
    dict(type='PackFaceSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='FaceAlign', canvas_size=canvas, source='image'),
    dict(type='RoITanhWarp', warp_factor=warp_factor, warp_label=False),
    dict(type='LoadAnnotations'),
    dict(type='PackFaceSegInputs'),
]
train_dataloader = dict(
    batch_size=5,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,  # BN in UPerHead's 1x1 pool needs >1
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='val', test_mode=True, pipeline=test_pipeline),
)
# Testing: the validation loader on the test split.
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
val_evaluator = dict(type='FaceF1Metric', background_index=0)
test_evaluator = val_evaluator
