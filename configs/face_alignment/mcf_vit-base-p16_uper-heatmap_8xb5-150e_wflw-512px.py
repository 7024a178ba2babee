# WFLW with the FaRL/MCF protocol: ViT-B/16 (pre-trained), 512² crops (face scale 0.8), 150 epochs, EMA
# evaluated; inter-ocular NME (points 60 & 72), AUC/FR at 0.10, inter-pupil NME (96 & 97), on the test set
# and its 6 attribute subsets in one test run. Annotations: HRNet CSVs.
_base_ = ['./_base_/default_runtime.py', './_base_/models/vit-base-p16_uper-heatmap_512px.py']

model = dict(head=dict(num_keypoints=98))
train_cfg = dict(max_epochs=150, val_interval=10)
default_hooks = dict(checkpoint=dict(save_best='NME_inter_ocular', rule='less'))

data_root = 'data/wflw/'  # face_landmarks_wflw_*.csv and images/ (HRNet layout)
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
attributes = ('largepose', 'expression', 'illumination', 'makeup', 'occlusion', 'blur')
dataset_type = 'WFLWCSVDataset'
train_dataloader = dict(
    batch_size=5, num_workers=4, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='face_landmarks_wflw_train.csv',
                 data_prefix=dict(img='images/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=5, num_workers=4, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='face_landmarks_wflw_test.csv',
                 subset_files={a: f'face_landmarks_wflw_test_{a}.csv' for a in attributes},
                 data_prefix=dict(img='images/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='FaceAlignmentMetric', normalizers=dict(inter_ocular=(60, 72), inter_pupil=(96, 97)),
                     ced=[('inter_ocular', 0.10)], subsets=attributes)
test_evaluator = val_evaluator
