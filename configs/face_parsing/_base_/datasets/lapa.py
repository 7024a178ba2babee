# LaPa (11 classes) from its release layout ({train,val,test}/{images,labels,landmarks}): 5 of the 106
# landmarks (104, 105, 54, 84, 90) -> least-squares similarity to the FaRL template on the 512 canvas ->
# RoI tanh warp with factor 0.8, in FaRL's pixel convention (n = u / W * 2 - 1; default 'pixel_centre').
_base_ = ['./face_parsing.py']
dataset_type = 'LaPaDataset'
data_root = '{{$MCF_MM_DATA:data}}/LaPa'
warp_factor = 0.8
pipeline_changes = dict(
    FaceAlign=dict(source='landmarks', landmark_indices=(104, 105, 54, 84, 90)),
    RoITanhWarp=dict(warp_factor=warp_factor, convention='farl'),
)
train_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.train_pipeline]
test_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.test_pipeline]
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
