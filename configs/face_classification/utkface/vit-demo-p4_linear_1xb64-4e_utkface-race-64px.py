# UTKFace race (0 White, 1 Black, 2 Asian, 3 Indian, 4 Others) on the CPU: the demo ViT (64 px, random init) and
# mmpretrain's linear head on the averaged patch tokens, cross-entropy. Metrics: accuracy and the mean class
# accuracy (mmpretrain's SingleLabelMetric macro recall = the mean over classes of the per-class accuracy; the
# equality is tested). The classes are unbalanced (about half White). Initialisation: --cfg-options
# model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.checkpoint=PATH model.backbone.init_cfg.source=auto
# model.backbone.init_cfg.branch=online model.backbone.init_cfg.min_matched=0.9 (any format mcf_mm reads).
_base_ = ['./_base_/utkface-64px.py']
model = dict(
    head=dict(type='LinearClsHead', num_classes=5, in_channels=96, loss=dict(type='CrossEntropyLoss', loss_weight=1.0))
)
train_dataloader = dict(dataset=dict(task='race'))
val_dataloader = dict(dataset=dict(task='race'))
test_dataloader = dict(dataset=dict(task='race'))
val_evaluator = [
    dict(type='Accuracy', topk=(1,)),
    dict(type='SingleLabelMetric', items=('recall',), average='macro', prefix='mean-class-accuracy'),
]
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='accuracy/top1', rule='greater'))
