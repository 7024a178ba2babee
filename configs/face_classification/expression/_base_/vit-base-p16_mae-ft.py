# The ViT-B/16 face classifier (MCF backbone, 224 px, average-pooled patch tokens, drop path 0.1) fine-tuned end
# to end in the style of MAE's ViT-B recipe (mmpretrain's
# configs/mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py): its optimiser (AdamW, layer-wise lr decay 0.65,
# lr = 5e-4 x total batch / 256; ../../_base_/schedules/mae-finetune_20e.py) and a linear head with label smoothing
# 0.1 (init std 2e-5). The task config sets the head's classes and the warm-up + cosine schedule.
# Not taken from MAE: mixup / cutmix, RandAugment and random erasing (the face configs use crop + flip).
_base_ = [
    '../../_base_/default_runtime.py',
    '../../_base_/models/vit-base-p16_cls.py',
    '../../_base_/schedules/mae-finetune_20e.py',
]
model = dict(
    head=dict(
        type='LinearClsHead',
        num_classes=7,
        in_channels=768,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)],
    )
)
# Checkpoints: the last epoch's is the result (no selection on the test set). The optimistic best-on-test variant
# is --cfg-options default_hooks.checkpoint.save_best=accuracy/top1 (name it as such when reporting).
