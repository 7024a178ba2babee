# 300W (68 points), HRNet layout: face_landmarks_300w_{train,valid,valid_common,valid_challenge}.csv and
# images/; full (689), common (554) and challenging (135) in one run. Inter-ocular NME (points 36 & 45) and
# inter-pupil NME (eye centres). The shared pipeline as is (face scale 0.8).
_base_ = ['./face_landmarks.py']
data_root = '{{$MCF_MM_DATA:data}}/300w/'
dataset_type = 'Face300WCSVDataset'
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='face_landmarks_300w_train.csv',
        data_prefix=dict(img='images/'),
    )
)
# The same images with the validation files (full set + its two subsets).
val_dataloader = dict(
    dataset=dict(
        train_dataloader['dataset'],
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
