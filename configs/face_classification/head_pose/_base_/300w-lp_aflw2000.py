# Head pose: train on 300W-LP (AFW, HELEN, IBUG, LFPW and their _Flip mirror copies), test on AFLW2000-3D.
# HeadPoseMatDataset reads the release's image + .mat pairs: gt_value = (yaw, pitch, roll) in degrees from
# Pose_Para (pitch, yaw, roll in radians), face_box = the box of the valid 2-D landmarks (pt2d).
# Crop: CropFaceBox, the square of side 1.6 x the box's longer side (margin 0.3 on each side) about the box centre,
# at 256 px; train: a random 224 crop of it (translation only: the angles do not change); test: the centre 224.
# No random flip: mmpretrain's RandomFlip would mirror the image without negating yaw and roll; the _Flip copies
# of 300W-LP are the mirrored training faces. Test protocol: the AFLW2000-3D faces whose yaw, pitch and roll all
# lie within +-99 degrees (max_abs=99); MAE in degrees per angle and their mean (RegressionMAE, no wrap-around).
train_root = '{{$MCF_MM_DATA:data}}/300w_lp'
test_root = '{{$MCF_MM_DATA:data}}/aflw2000'
crop_margin = 0.3
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CropFaceBox', size=256, margin=crop_margin),
    dict(type='RandomCrop', crop_size=224),
    dict(type='PackInputs', algorithm_keys=('gt_value',)),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CropFaceBox', size=256, margin=crop_margin),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs', algorithm_keys=('gt_value',)),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='HeadPoseMatDataset', data_root=train_root, layout='300w_lp', with_flip=True, pipeline=train_pipeline
    ),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='HeadPoseMatDataset', data_root=test_root, layout='aflw2000', max_abs=99, pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='RegressionMAE', names=['yaw', 'pitch', 'roll'])
test_evaluator = val_evaluator
