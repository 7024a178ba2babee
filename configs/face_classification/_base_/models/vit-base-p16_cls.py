# ViT-B/16 face classifier: mcf_mm's FaceViT at 224 px, trainable position embedding, average of the patch tokens
# after a final LayerNorm (mmpretrain's MAE fine-tuning convention: out_type='avg_featmap', final_norm=False),
# drop path 0.1, ImageNet mean/std (right for MCF weights; FaRL-initialised configs switch to CLIP's).
# Each task config sets `model.head` (and, for regression, its data field) and may change the pooling.
# Pre-trained backbone: any format mcf_mm reads; put it here or override with
# --cfg-options model.backbone.init_cfg.checkpoint=PATH.
pretrained = 'checkpoints/mcf_vit-base-p16_laion-face-16e.pth'
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True
    ),
    backbone=dict(
        _scope_='mcf_mm',
        type='FaceViT',
        arch='base',
        img_size=224,
        patch_size=16,
        fixed_pos_embed=False,
        out_type='avg_featmap',
        final_norm=False,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, source='auto', branch='online', min_matched=0.9),
    ),
    neck=None,
)
