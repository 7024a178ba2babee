# WFLW with the FaRL/MCF protocol: ViT-B/16 fine-tuned from MCF (16 pre-training epochs), 512² crops
# (face scale 0.8), 150 epochs, EMA evaluated; inter-ocular NME, AUC/FR at 0.10, inter-pupil NME, on the
# test set and its 6 attribute subsets in one test run.
_base_ = [
    './_base_/default_runtime.py',
    './_base_/models/vit-base-p16_uper-heatmap.py',
    './_base_/datasets/wflw.py',
    './_base_/farl_photometric.py',
]
# FaRL's photometric augmenters replace the shared ones (./_base_/farl_photometric.py).
train_pipeline = [_base_.farl_photometric.get(t.type, t) for t in _base_.train_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

model = dict(head=dict(num_keypoints=98, decoder={{_base_.codec}}))
train_cfg = dict(max_epochs=150, val_interval=10)
# FaRL's schedule: lr x0.1 from epoch 200 (0-based; never reached in 150 epochs).
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[200], gamma=0.1)]
default_hooks = dict(checkpoint=dict(save_best='NME_inter_ocular', rule='less'))
