# CPU config on the real FASSEG frontal set (V2 labels, 20 train / 50 test, 6 classes): the demo ViT
# (96-d, 4 blocks, patch 4) RANDOMLY initialised, a 128-px canvas resized to 64 inside the ViT, the FaRL
# augmentation, and the face F1 (5 classes without background) at original resolution.
# vit-demo-p4_mcf-demo-30e-pre_... starts from the CPU MCF demo checkpoint instead.
_base_ = [
    './_base_/default_runtime.py',
    './_base_/models/vit-demo-p4_uperhead.py',
    './_base_/datasets/fasseg.py',
    './_base_/schedules/adamw_300e.py',
]
# Short CPU schedule: 500 iterations (20 epochs of 25 iterations), the FaRL lr ratio, x0.1 at epoch 15.
max_epochs = 20
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, begin=0, end=max_epochs, milestones=[15], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1),
    visualization=dict(type='SegVisualizationHook', draw=False),
)
# EMA decay 0.99 (not 0.999): 0.999 averages over ~1000 steps, longer than this whole run.
custom_hooks = [dict(type='EMAHook', momentum=0.01, priority='ABOVE_NORMAL')]
