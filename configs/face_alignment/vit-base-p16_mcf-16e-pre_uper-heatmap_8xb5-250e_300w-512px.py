# 300W with the FaRL/MCF protocol: ViT-B/16 fine-tuned from MCF (16 pre-training epochs), 512² crops
# (face scale 0.8), 250 epochs, EMA evaluated; inter-ocular and inter-pupil NME on full, common and
# challenging in one test run.
_base_ = [
    './_base_/default_runtime.py',
    './_base_/models/vit-base-p16_uper-heatmap.py',
    './_base_/datasets/300w.py',
    './_base_/farl_photometric.py',
]
# FaRL's photometric augmenters replace the shared ones (./_base_/farl_photometric.py).
train_pipeline = [_base_.farl_photometric.get(t.type, t) for t in _base_.train_pipeline]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

model = dict(head=dict(num_keypoints=68, decoder={{_base_.codec}}))
train_cfg = dict(max_epochs=250, val_interval=10)
# FaRL's schedule: lr x0.1 from epoch 200 (0-based; reached at 300W's 250 epochs).
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[200], gamma=0.1)]
default_hooks = dict(checkpoint=dict(save_best='NME_inter_ocular', rule='less'))
