# The ViT-B/16 face classifier (MCF backbone, 224 px, average-pooled patch tokens, drop path 0.1) fine-tuned end
# to end with MAE's ViT-B fine-tuning recipe (MAE paper, appendix A.1; mmpretrain's
# configs/mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py): AdamW (0.9, 0.999), weight decay 0.05 except
# on 1-D parameters (norms, biases), the cls token and the position embedding, layer-wise lr decay 0.65 (mmpretrain's
# LearningRateDecayOptimWrapperConstructor), lr = 5e-4 x total batch / 256, warm-up then cosine. Multi-label
# head: mmpretrain's MultiLabelLinearClsHead (sigmoid BCE, mmpretrain's CrossEntropyLoss(use_sigmoid=True)).
# Not taken from MAE: mixup / cutmix, RandAugment, random erasing, label smoothing (choices: the face configs use
# resize + flip and plain BCE; mmpretrain's LabelSmoothLoss(mode='multi_label') would add smoothing).
_base_ = [
    '../../_base_/default_runtime.py',
    '../../_base_/models/vit-base-p16_cls.py',
    '../../_base_/schedules/mae-finetune_20e.py',
]
model = dict(
    head=dict(
        type='MultiLabelLinearClsHead',
        num_classes=40,
        in_channels=768,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        thr=0.5,
    )
)
optim_wrapper = dict(
    # MAE's rule, no decay on any 1-D parameter (here: the facer head's norms and weights)
    paramwise_cfg=dict(flat_decay_mult=0.0)
)
train_cfg = dict(val_interval=1)
# The val split selects the checkpoint (best attr/mean_accuracy); the test split is evaluated with tools/test.py.
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=1, max_keep_ckpts=1, save_best='attr/mean_accuracy', rule='greater'),
)
