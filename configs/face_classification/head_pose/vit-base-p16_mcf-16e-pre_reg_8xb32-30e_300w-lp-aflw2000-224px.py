# Head pose (300W-LP -> AFLW2000-3D): the ViT-B/16 from MCF (16 pre-training epochs) fine-tuned end to end at
# 224 px with a linear regression head (FaceRegressionHead) on the average-pooled patch tokens: 3 outputs
# (yaw, pitch, roll) in units of 45 degrees (a fixed scale, not a data statistic), L1 loss; 8 GPUs x 32 images,
# 30 epochs (2 warm-up epochs from 1e-4 x lr, then cosine to 1e-6, by iteration), MAE's ViT-B fine-tuning
# optimiser (AdamW, layer-wise lr decay 0.65, lr 5e-4 x total batch / 256, wd 0.05). AFLW2000-3D has no
# validation split: it is evaluated once, after the last epoch, and that epoch's MAE is the result.
_base_ = [
    '../_base_/default_runtime.py',
    '../_base_/models/vit-base-p16_cls.py',
    '../_base_/schedules/mae-finetune_20e.py',
    './_base_/300w-lp_aflw2000.py',
]
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
max_epochs = 30
warmup_epochs = 2
param_scheduler = [
    dict(_base_.param_scheduler[0], end=warmup_epochs),
    dict(_base_.param_scheduler[1], T_max=max_epochs - warmup_epochs, begin=warmup_epochs, end=max_epochs),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
