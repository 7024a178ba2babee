# Small-scale pre-training (tools/analysis_tools/utkface_study.py, the CPU backbone benchmark): unlabelled UTKFace
# crops at 64 px (the studies pass a train-split list as ann_file and may change the size), a fixed
# iteration budget, the demo ViT (configs/_base_/models/vit-demo.py, patch 4) that the Helen-29/FASSEG configs
# fine-tune. Data: data/utkface (a link to the UTKFace folder), or $MCF_MM_DATA/utkface.
_base_ = ['../../_base_/default_runtime.py', '../_base_/demo_pretrain.py']
data_root = '{{$MCF_MM_DATA:data}}/utkface'
max_iters = 600
# The CPU demo's pipeline and optimiser (../_base_/demo_pretrain.py) at 64 px, on an endless sampler.
pipeline_changes = dict(Resize=dict(scale=(64, 64)))
train_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.train_pipeline]
train_dataloader = dict(
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler'),
    dataset=dict(type='FaceImageDataset', data_root=data_root, pipeline=train_pipeline),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=max_iters - 50, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
