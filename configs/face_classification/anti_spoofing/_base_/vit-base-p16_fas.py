# The ViT-B/16 face classifier (MCF backbone, 224 px, average-pooled patch tokens, drop path 0.1) as a 2-way
# live / attack classifier, fine-tuned end to end: AdamW (0.9, 0.999), weight decay 0.05 except norms, biases, cls
# token and position embedding, layer-wise lr decay 0.65 (mmpretrain's LearningRateDecayOptimWrapperConstructor),
# lr = 5e-4 x total batch / 256, cross-entropy. These are our choices (MAE-style fine-tuning), not a published
# anti-spoofing recipe; SSDG (ResNet-18) trains with SGD 0.01, momentum 0.9, weight decay 5e-4, batch 10 per
# source and class, 4,000 iterations.
_base_ = [
    '../../_base_/default_runtime.py',
    '../../_base_/models/vit-base-p16_cls.py',
    '../../_base_/schedules/mae-finetune_20e.py',
]
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
optim_wrapper = dict(optimizer=dict(lr=_base_.base_lr * total_batch / 256))
auto_scale_lr = dict(base_batch_size=total_batch)
# The target is evaluated once, after the last epoch; no checkpoint is selected on it (save_best unset).
