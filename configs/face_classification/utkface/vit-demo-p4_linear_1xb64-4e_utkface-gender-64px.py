# UTKFace gender (0 male, 1 female) on the CPU: the demo ViT (64 px, random init) and mmpretrain's linear head on
# the averaged patch tokens, cross-entropy; metric: accuracy. Initialisation: --cfg-options
# model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint=PATH model.backbone.init_cfg.source=auto
# model.backbone.init_cfg.branch=online model.backbone.init_cfg.min_matched=0.9 (any format mcf_mm reads).
_base_ = ['./_base_/utkface-64px.py']
model = dict(
    head=dict(type='LinearClsHead', num_classes=2, in_channels=96, loss=dict(type='CrossEntropyLoss', loss_weight=1.0))
)
train_dataloader = dict(dataset=dict(task='gender'))
val_dataloader = dict(dataset=dict(task='gender'))
test_dataloader = dict(dataset=dict(task='gender'))
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='accuracy/top1', rule='greater'))
