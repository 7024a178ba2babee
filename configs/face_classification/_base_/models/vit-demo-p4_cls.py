# The CPU demo ViT (configs/_base_/models/vit-demo.py: 96 dims, 4 blocks, 3 heads) as a face classifier at 64 px,
# patch 4, the same pooling and normalisation as the ViT-B/16 base; random init unless a config sets
# `model.backbone.init_cfg` (e.g. the small-scale MAE or MCF pre-training of configs/mcf/small_scale/).
_base_ = ['../../../_base_/models/vit-demo.py']
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True
    ),
    backbone=dict(
        _scope_='mcf_mm',
        type='FaceViT',
        arch={{_base_.demo_arch}},
        img_size=64,
        patch_size=4,
        fixed_pos_embed=False,
        out_type='avg_featmap',
        final_norm=False,
        drop_path_rate=0.1,
    ),
    neck=None,
)
