# AFLW-19 with the FaRL/MCF protocol: ViT-B/16 (pre-trained), 512² crops (face scale 1.0), 150 epochs,
# EMA evaluated; NME_box / NME_diag (+ inter-ocular 6 & 11, inter-pupil 7 & 10), AUC_box@0.07 / FR_box@0.07,
# on the full test set and its frontal subset in one run.
_base_ = ['./_base_/default_runtime.py', './_base_/models/vit-base-p16_uper-heatmap_512px.py']

model = dict(head=dict(num_keypoints=19))
train_cfg = dict(max_epochs=150, val_interval=10)
default_hooks = dict(checkpoint=dict(save_best='NME_box', rule='less'))

data_root = 'data/aflw19/'  # AFLWinfo_release.mat and data/flickr/<nameList entries>
codec = dict(type='FaRLHeatmapCodec', input_size=512, heatmap_size=128, sigma=1.25, radius=5.0)
meta_keys = ('id', 'img_id', 'img_path', 'ori_shape', 'img_shape', 'input_size', 'input_center',
             'input_scale', 'crop_matrix', 'subsets', 'dataset_name')
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='FaceBoxCrop', input_size=512, face_scale=1.0, rotate=10, shift=0.05, scale=0.1),
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
    dict(type='FaceBoxCrop', input_size=512, face_scale=1.0),
    dict(type='PackPoseInputs', meta_keys=meta_keys),
]
dataset_type = 'AFLW19MatDataset'
train_dataloader = dict(
    batch_size=5, num_workers=4, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='AFLWinfo_release.mat', split='train',
                 data_prefix=dict(img='data/flickr/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=5, num_workers=4, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='AFLWinfo_release.mat', split='test',
                 data_prefix=dict(img='data/flickr/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='FaceAlignmentMetric',
                     normalizers=dict(box='box', diag='diag', inter_ocular=(6, 11), inter_pupil=(7, 10)),
                     ced=[('box', 0.07)], subsets=('frontal', ))
test_evaluator = val_evaluator
