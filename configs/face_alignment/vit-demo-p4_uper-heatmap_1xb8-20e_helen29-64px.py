# Helen-29 on the CPU: the FaRL/MCF alignment protocol scaled down. Backbone = the demo ViT, RANDOMLY
# initialised (vit-demo-p4_mcf-demo-30e-pre_... starts from the CPU MCF demo instead).
_base_ = ['./_base_/default_runtime.py', './_base_/models/vit-demo-p4_uper-heatmap.py', './_base_/datasets/helen29.py']

model = dict(head=dict(decoder={{_base_.codec}}))
# The protocol's optimiser (AdamW, lr 1e-2 neck/head, 1e-4 backbone, wd 1e-5); EMA decay 0.99 instead of
# 0.999 because this run has only ~700 iterations.
custom_hooks = [
    dict(type='EMAHook', ema_type='ExponentialMovingAverage', momentum=0.01, update_buffers=True, priority=49)
]
train_cfg = dict(max_epochs=20, val_interval=5)
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=5, save_best='NME_inter_ocular', rule='less'))
randomness = dict(seed=0)
