# UTKFace age on the CPU: the demo ViT (64 px, random init) and a linear regression head on the averaged patch
# tokens. The head predicts the standardised age (train-split mean 29.6, std 24.8 years of the UTKFace copy in
# README.md; for another copy it only rescales the target) under an L1 loss; the
# metric is the mean absolute error in years. Initialisation: --cfg-options
# model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint=PATH model.backbone.init_cfg.source=auto
# model.backbone.init_cfg.branch=online model.backbone.init_cfg.min_matched=0.9 (any format mcf_mm reads).
_base_ = ['./_base_/utkface-64px.py']
model = dict(
    head=dict(
        type='FaceRegressionHead',
        in_channels=96,
        num_outputs=1,
        loss=dict(type='RegressionLoss', criterion='l1'),
        target_mean=29.6,
        target_std=24.8,
    )
)
train_dataloader = dict(dataset=dict(task='age'))
val_dataloader = dict(dataset=dict(task='age'))
test_dataloader = dict(dataset=dict(task='age'))
val_evaluator = dict(type='RegressionMAE', names=['age'])
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='MAE_age', rule='less'))
