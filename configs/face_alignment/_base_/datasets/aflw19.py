# AFLW-19 (19 points): AFLWinfo_release.mat and data/flickr/<nameList entries>; train = the first 20,000 faces
# of `ra`, test = the rest, with its `frontal` subset. The box's longer side fills the whole crop (face scale 1.0).
# NME_box / NME_diag (+ inter-ocular 6 & 11, inter-pupil 7 & 10), AUC_box@0.07 / FR_box@0.07.
_base_ = ['./face_landmarks.py']
data_root = '{{$MCF_MM_DATA:data}}/aflw19/'
dataset_type = 'AFLW19MatDataset'
face_scale = 1.0
# FaRL's crop: the box stretched axis by axis onto the crop, train zoom U(face_scale +- 0.1) (defaults: squared
# box, face_scale * U(0.9, 1.1)).
pipeline_changes = dict(FaceBoxCrop=dict(face_scale=face_scale, box_mode='stretch', zoom_mode='additive'))
train_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.train_pipeline]
test_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.test_pipeline]
train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='AFLWinfo_release.mat',
        split='train',
        data_prefix=dict(img='data/flickr/'),
        pipeline=train_pipeline,
    )
)
# The test split of the same file.
val_dataloader = dict(dataset=dict(train_dataloader['dataset'], split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='FaceAlignmentMetric',
    normalizers=dict(box='box', diag='diag', inter_ocular=(6, 11), inter_pupil=(7, 10)),
    ced=[('box', 0.07)],
    auc_grid='farl',  # FaRL's CED grid (one point past t); 'closed' samples 0 .. t
    subsets=('frontal',),
)
test_evaluator = val_evaluator
