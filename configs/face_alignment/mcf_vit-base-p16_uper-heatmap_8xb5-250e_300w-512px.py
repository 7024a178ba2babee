# 300W with the FaRL/MCF protocol: ViT-B/16 (pre-trained), 512² crops (face scale 0.8), 250 epochs, EMA
# evaluated; inter-ocular NME (points 36 & 45) and inter-pupil NME on full (689), common (554) and
# challenging (135) in one test run. Annotations: HRNet CSVs.
_base_ = ['./_base_/default_runtime.py', './_base_/models/vit-base-p16_uper-heatmap_512px.py']

model = dict(head=dict(num_keypoints=68))
train_cfg = dict(max_epochs=250, val_interval=10)
default_hooks = dict(checkpoint=dict(save_best='NME_inter_ocular', rule='less'))

data_root = 'data/300w/'  # face_landmarks_300w_*.csv and images/ (HRNet layout)
codec = dict(type='FaRLHeatmapCodec', input_size=512, heatmap_size=128, sigma=1.25, radius=5.0)
meta_keys = ('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
             'input_scale', 'crop_matrix', 'subsets', 'dataset_name')
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='FaceBoxCrop', input_size=512, face_scale=0.8, rotate=10, shift=0.05, scale=0.1),
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
    dict(type='FaceBoxCrop', input_size=512, face_scale=0.8),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
dataset_type = 'Face300WCSVDataset'
train_dataloader = dict(
    batch_size=5, num_workers=4, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='face_landmarks_300w_train.csv',
                 data_prefix=dict(img='images/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=5, num_workers=4, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='face_landmarks_300w_valid.csv',
                 subset_files=dict(common='face_landmarks_300w_valid_common.csv',
                                   challenging='face_landmarks_300w_valid_challenge.csv'),
                 data_prefix=dict(img='images/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='FaceAlignmentMetric',
    normalizers=dict(inter_ocular=(36, 45), inter_pupil=(list(range(36, 42)), list(range(42, 48)))),
    subsets=('common', 'challenging'))
test_evaluator = val_evaluator
