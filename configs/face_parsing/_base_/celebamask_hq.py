# CelebAMask-HQ: 1024-px images resized to the 512-px painted labels (the protocol's original resolution),
# no tanh warp (factor 0: the canvas is the 512 image itself), FaRL augmentation in training.
# Labels: tools/dataset_converters/celebamask_hq.py; split: CelebA's list_eval_partition.txt (copy it into
# data_root) via the release's CelebA-HQ-to-CelebA-mapping.txt.
dataset_type = 'CelebAMaskHQDataset'
data_root = 'data/CelebAMask-HQ'
canvas = 512
align = dict(type='FaceAlign', canvas_size=canvas, source='image')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='ResizeImageToLabel'),
    align,
    dict(type='RandomFaceAffine', rotate_std=18.0, scale_std=0.1, shift=0.01),
    dict(type='RoITanhWarp', warp_factor=0.0, warp_label=True),
    dict(type='FaceRandomGray', prob=0.1),
    dict(type='FaceRandomGamma'),
    dict(type='FaceRandomBlur', max_ratio=0.01),
    dict(type='PackFaceSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='ResizeImageToLabel'),
    align,
    dict(type='RoITanhWarp', warp_factor=0.0, warp_label=False),
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
