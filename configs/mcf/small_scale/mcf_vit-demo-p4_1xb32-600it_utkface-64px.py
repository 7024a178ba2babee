# MCF at small scale. Its frozen teacher is the MAE encoder of the baseline run (no published teacher exists at
# this size): MCF's result therefore builds on the MAE run's compute as well, which the study states.
_base_ = ['./_utkface_64px.py']
model = dict(
    type='MCF',
    data_preprocessor=dict(type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    backbone=dict(type='FaceViT', arch={{_base_.demo_arch}}, img_size=64, patch_size=4, mask_ratio=0.75),
    neck=dict(type='MAEPretrainDecoder', num_patches=256, patch_size=4, in_chans=3, embed_dim=96,
              decoder_embed_dim=64, decoder_depth=2, decoder_num_heads=2, mlp_ratio=4),
    head=dict(type='FeatureDistillHead', norm_dim='token', loss_weight=1000.0),
    target_generator=dict(type='FrozenViTTeacher', checkpoint='work_dirs/small_scale/mae/iter_600.pth',
                          out_indices=(1, 3), num_heads=3, img_size=64),
    projector=dict(type='ProjectionMLP', in_channels=96, hid_channels=256, out_channels=64),
    contrast_head=dict(type='ContrastivePredictionHead', temperature=0.2,
                       predictor=dict(type='ProjectionMLP', in_channels=64, hid_channels=256,
                                      out_channels=64, last_bn=False)),
    momentum=0.99,
    ema_update='step',
)
