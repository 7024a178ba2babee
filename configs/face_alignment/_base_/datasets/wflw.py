# WFLW (98 points), HRNet layout: face_landmarks_wflw_{train,test,test_<attribute>}.csv and images/; the test
# set and its 6 attribute subsets in one run. Inter-ocular NME (points 60 & 72), AUC/FR at 0.10, inter-pupil
# NME (96 & 97). The shared pipeline (face scale 0.8) with FaRL's crop.
_base_ = ['./face_landmarks.py']
data_root = '{{$MCF_MM_DATA:data}}/wflw/'
# FaRL's crop: the box stretched axis by axis onto the crop, train zoom U(face_scale +- 0.1) (defaults: squared
# box, face_scale * U(0.9, 1.1)).
pipeline_changes = dict(FaceBoxCrop=dict(box_mode='stretch', zoom_mode='additive'))
train_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.train_pipeline]
test_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.test_pipeline]
dataset_type = 'WFLWCSVDataset'
attributes = ('largepose', 'expression', 'illumination', 'makeup', 'occlusion', 'blur')
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='face_landmarks_wflw_train.csv',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline,
    )
)
# The same images with the test files (full set + its attribute subsets).
val_dataloader = dict(
    dataset=dict(
        train_dataloader['dataset'],
        pipeline=test_pipeline,
        ann_file='face_landmarks_wflw_test.csv',
        subset_files={a: f'face_landmarks_wflw_test_{a}.csv' for a in attributes},
    )
)
test_dataloader = val_dataloader
val_evaluator = dict(
    type='FaceAlignmentMetric',
    normalizers=dict(inter_ocular=(60, 72), inter_pupil=(96, 97)),
    ced=[('inter_ocular', 0.10)],
    auc_grid='farl',  # FaRL's CED grid (one point past t); 'closed' samples 0 .. t
    subsets=attributes,
)
test_evaluator = val_evaluator
