# The alignment model's parts common to every backbone size: the shared face ViT block
# (configs/_base_/models/face_vit_dense.py) -> Feature2Pyramid x[4, 2, 1, 0.5] -> UPerHead (dropout 0.1) -> K
# logit maps, sigmoid, soft-argmax; no flip test. The model bases set the widths, K and the norms.
_base_ = ['../../../_base_/models/face_vit_dense.py']
model = dict(
    type='FaceLandmarkEstimator',
    data_preprocessor=dict(type='PoseDataPreprocessor'),
    neck=dict(type='mmseg.Feature2Pyramid', rescales=(4, 2, 1, 0.5)),
    head=dict(type='UPerHeatmapHead', pool_scales=(1, 2, 3, 6), dropout_ratio=0.1),
    test_cfg=dict(flip_test=False),
)
