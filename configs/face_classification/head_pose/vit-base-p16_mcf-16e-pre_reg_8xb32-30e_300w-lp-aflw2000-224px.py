# Head pose (300W-LP -> AFLW2000-3D): the ViT-B/16 from MCF (16 pre-training epochs) fine-tuned end to end at
# 224 px with a linear regression head (FaceRegressionHead) on the average-pooled patch tokens: 3 outputs
# (yaw, pitch, roll) in units of 45 degrees (a fixed scale, not a data statistic), L1 loss; 8 GPUs x 32 images,
# 30 epochs (2 warm-up epochs from 1e-4 x lr, then cosine to 1e-6, by iteration), MAE's ViT-B fine-tuning
# optimiser (AdamW, layer-wise lr decay 0.65, lr 5e-4 x total batch / 256, wd 0.05). AFLW2000-3D has no
# validation split: it is evaluated once, after the last epoch, and that epoch's MAE is the result.
_base_ = ['../_base_/default_runtime.py', '../_base_/models/vit-base-p16_cls.py', './_base_/300w-lp_aflw2000.py']
base_lr = 5e-4  # per 256 images
total_batch = 8 * 32
model = dict(
    head=dict(
        type='FaceRegressionHead',
        in_channels=768,
        num_outputs=3,
        loss=dict(type='RegressionLoss', criterion='l1'),
        target_mean=0.0,
        target_std=45.0,
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
max_epochs = 30
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
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=1, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=total_batch)
randomness = dict(seed=0, diff_rank_seed=True)
