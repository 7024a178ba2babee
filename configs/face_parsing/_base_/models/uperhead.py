# The parsing model's parts common to every backbone size: the shared face ViT block
# (configs/_base_/models/face_vit_dense.py) on the crops' square canvas -> Feature2Pyramid x[4, 2, 1, 0.5] ->
# UPerHead (all 4 levels, dropout 0.1, cross-entropy), whole-image inference. The model bases set the canvas,
# the widths, the classes and the norms.
_base_ = ['../../../_base_/models/face_vit_dense.py']
model = dict(
    type='FaceParsingEncoderDecoder',
    data_preprocessor=dict(type='SegDataPreProcessor', pad_val=0, seg_pad_val=255),
    neck=dict(type='Feature2Pyramid', rescales=[4, 2, 1, 0.5]),
    decode_head=dict(
        type='UPerHead',
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
