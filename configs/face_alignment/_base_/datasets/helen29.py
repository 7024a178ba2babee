# Helen-29 (348 real Helen faces re-labelled with the 29 LFPW points) for the CPU: the protocol's pipeline on
# 64² crops of the landmark box (face scale 0.7, milder blur), targets at 64². Split: deterministic by sorted
# file name (last 20 % = test, 70 faces). Layout: data/helen.mat and data/img/ below the root. Metric:
# inter-ocular NME with the LFPW-29 outer eye corners, points 8 and 9 (0-based); inter-pupil with 16 and 17.
_base_ = ['./face_landmarks.py']
data_root = '{{$MCF_MM_DATA:data}}/helen29/'
dataset_type = 'Helen29MatDataset'
input_size = 64
face_scale = 0.7
codec = dict(type='FaRLHeatmapCodec', input_size=input_size, heatmap_size=64, sigma=1.25, radius=5.0)
pipeline_changes = dict(
    FaceBoxCrop=dict(input_size=input_size, face_scale=face_scale),
    RandomBlur=dict(max_sigma=1.0),
    GenerateTarget=dict(encoder=codec),
)
train_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.train_pipeline]
test_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.test_pipeline]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='data/helen.mat',
        split='train',
        data_prefix=dict(img='data/img/'),
        pipeline=train_pipeline,
    ),
)
# The test split of the same file, with the same batch size and workers.
val_dataloader = dict(train_dataloader, dataset=dict(train_dataloader['dataset'], split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='FaceAlignmentMetric',
    normalizers=dict(inter_ocular=(8, 9), inter_pupil=(16, 17)),
    ced=[('inter_ocular', 0.10)],
)
test_evaluator = val_evaluator
