# The ViT-B/16 face classifier (MCF backbone, 224 px, average-pooled patch tokens, drop path 0.1) as a 2-way
# live / attack classifier, fine-tuned end to end: AdamW (0.9, 0.999), weight decay 0.05 except norms, biases, cls
# token and position embedding, layer-wise lr decay 0.65 (mmpretrain's LearningRateDecayOptimWrapperConstructor),
# lr = 5e-4 x total batch / 256, cross-entropy. These are our choices (MAE-style fine-tuning), not a published
# anti-spoofing recipe; SSDG (ResNet-18) trains with SGD 0.01, momentum 0.9, weight decay 5e-4, batch 10 per
# source and class, 4,000 iterations.
_base_ = ['../../_base_/default_runtime.py', '../../_base_/models/vit-base-p16_cls.py']
base_lr = 5e-4  # per 256 images
total_batch = 4 * 32  # 4 GPUs x 32 frames
model = dict(
    head=dict(
        type='LinearClsHead',
        num_classes=2,  # 0 attack, 1 live (liveness score = pred_score[1])
        in_channels=768,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
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
max_epochs = 20
warmup_epochs = 2
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        eta_min=1e-6,
        convert_to_iter_based=True,
    ),
]
# The target is evaluated once, after the last epoch; no checkpoint is selected on it (save_best unset).
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=1, max_keep_ckpts=1))
randomness = dict(seed=0, diff_rank_seed=True)
