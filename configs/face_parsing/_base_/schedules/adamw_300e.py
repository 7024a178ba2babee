# FaRL parsing schedule: AdamW wd 1e-5, lr 1e-3 for neck and head and 1e-4 (x0.1) for the backbone,
# 300 epochs, x0.1 at epoch 200.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-5),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}),
)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, begin=0, end=300, milestones=[200], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Total batch of the recipe: 8 GPUs x 5 images.
auto_scale_lr = dict(enable=False, base_batch_size=40)
