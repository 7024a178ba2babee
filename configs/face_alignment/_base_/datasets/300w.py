# 300W (68 points), HRNet layout: face_landmarks_300w_{train,valid,valid_common,valid_challenge}.csv and
# images/; full (689), common (554) and challenging (135) in one run. Inter-ocular NME (points 36 & 45) and
# inter-pupil NME (eye centres). The shared pipeline (face scale 0.8) with FaRL's crop.
_base_ = ['./face_landmarks.py']
data_root = '{{$MCF_MM_DATA:data}}/300w/'
# FaRL's crop: the box stretched axis by axis onto the crop, train zoom U(face_scale +- 0.1) (defaults: squared
# box, face_scale * U(0.9, 1.1)).
pipeline_changes = dict(FaceBoxCrop=dict(box_mode='stretch', zoom_mode='additive'))
train_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.train_pipeline]
test_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.test_pipeline]
dataset_type = 'Face300WCSVDataset'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='face_landmarks_300w_train.csv',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline,
    )
)
# The same images with the validation files (full set + its two subsets).
val_dataloader = dict(
    dataset=dict(
        train_dataloader['dataset'],
        pipeline=test_pipeline,
        ann_file='face_landmarks_300w_valid.csv',
        subset_files=dict(
            common='face_landmarks_300w_valid_common.csv', challenging='face_landmarks_300w_valid_challenge.csv'
        ),
    )
)
test_dataloader = val_dataloader
val_evaluator = dict(
    type='FaceAlignmentMetric',
    normalizers=dict(inter_ocular=(36, 45), inter_pupil=(list(range(36, 42)), list(range(42, 48)))),
    subsets=('common', 'challenging'),
)
test_evaluator = val_evaluator
