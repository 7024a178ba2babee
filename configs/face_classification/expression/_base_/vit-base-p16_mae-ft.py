# The ViT-B/16 face classifier (MCF backbone, 224 px, average-pooled patch tokens, drop path 0.1) fine-tuned end
# to end in the style of MAE's ViT-B recipe (mmpretrain's
# configs/mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py):
# AdamW (0.9, 0.999), weight decay 0.05 except norms, biases, cls token and position embedding, layer-wise lr
# decay 0.65 (mmpretrain's LearningRateDecayOptimWrapperConstructor, which reads FaceViT's depths: patch embedding
# and tokens 0, block i -> i + 1, the rest and the head on top), lr = 5e-4 x total batch / 256, linear head with
# label smoothing 0.1 (init std 2e-5). The task config sets the head's classes and the warm-up + cosine schedule.
# Not taken from MAE: mixup / cutmix, RandAugment and random erasing (the face configs use crop + flip).
_base_ = ['../../_base_/default_runtime.py', '../../_base_/models/vit-base-p16_cls.py']
base_lr = 5e-4  # per 256 images
total_batch = 8 * 32  # 8 GPUs x 32 images
model = dict(
    head=dict(
        type='LinearClsHead',
        num_classes=7,
        in_channels=768,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=2e-5)],
    )
)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=base_lr * total_batch / 256, weight_decay=0.05, betas=(0.9, 0.999)),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        custom_keys={
            '.ln': dict(decay_mult=0.0),
            '.bias': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0),
        },
    ),
)
val_cfg = dict()
test_cfg = dict()
# Checkpoints: the last epoch's is the result (no selection on the test set). The optimistic best-on-test variant
# is --cfg-options default_hooks.checkpoint.save_best=accuracy/top1 (name it as such when reporting).
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=1, max_keep_ckpts=1))
randomness = dict(seed=0, diff_rank_seed=True)
