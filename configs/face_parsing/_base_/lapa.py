# LaPa from its release layout: 5 landmarks of the 106 (104, 105, 54, 84, 90) -> similarity to the FaRL
# template on a 512 canvas -> RoI tanh warp (factor 0.8). Test: only the image is warped; the segmentor
# warps the logits back and the metric reads the original label image.
dataset_type = 'LaPaDataset'
data_root = 'data/LaPa'
canvas = 512
warp_factor = 0.8
align = dict(type='FaceAlign', canvas_size=canvas, source='landmarks', landmark_indices=(104, 105, 54, 84, 90))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    align,
    dict(type='RandomFaceAffine', rotate_std=18.0, scale_std=0.1, shift=0.01),
    dict(type='RoITanhWarp', warp_factor=warp_factor, warp_label=True),
    dict(type='FaceRandomGray', prob=0.1),
    dict(type='FaceRandomGamma'),
    dict(type='FaceRandomBlur', max_ratio=0.01),
    dict(type='PackFaceSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    align,
    dict(type='RoITanhWarp', warp_factor=warp_factor, warp_label=False),
    dict(type='LoadAnnotations'),
    dict(type='PackFaceSegInputs'),
]
train_dataloader = dict(
    batch_size=5, num_workers=4, persistent_workers=True, drop_last=True,  # BN in UPerHead's 1x1 pool needs >1
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', test_mode=True,
                 pipeline=test_pipeline))
val_evaluator = dict(type='FaceF1Metric', background_index=0)
test_evaluator = val_evaluator
