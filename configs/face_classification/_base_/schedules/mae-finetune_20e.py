# MAE's ViT-B end-to-end fine-tuning optimiser (MAE paper, appendix A.1; mmpretrain's
# configs/mae/benchmarks/vit-base-p16_8xb128-coslr-100e_in1k.py): AdamW (0.9, 0.999), weight decay 0.05 except on
# norms, biases, the cls token and the position embedding, layer-wise lr decay 0.65 (mmpretrain's
# LearningRateDecayOptimWrapperConstructor, which reads FaceViT's depths: patch embedding and tokens 0, block i ->
# i + 1, the rest and the head on top), lr = 5e-4 x total batch / 256; a linear warm-up from 1e-4 x lr, then cosine
# to 1e-6, by iteration. Epoch counts and warm-up lengths are the face configs' choices (20 and 2 here).
# A config with another length restates the two schedulers from these, e.g.
#   max_epochs, warmup_epochs = 30, 3
#   param_scheduler = [dict(_base_.param_scheduler[0], end=warmup_epochs),
#                      dict(_base_.param_scheduler[1], T_max=max_epochs - warmup_epochs, begin=warmup_epochs,
#                           end=max_epochs)]
#   train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# and one with another batch sets `optim_wrapper = dict(optimizer=dict(lr=_base_.base_lr * total_batch / 256))`.
base_lr = 5e-4  # per 256 images
total_batch = 8 * 32  # 8 GPUs x 32 images
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
# The test set is evaluated once, after the last epoch, and that epoch is the result (no selection on it).
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=total_batch)
