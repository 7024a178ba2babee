# Shared by both demo stages: real face photographs bundled with scikit-image (100 LFW crops + the
# astronaut's face) at 32 px, and the schedule (the demo ViT itself: configs/_base_/models/vit-demo.py; the
# pipeline and optimiser: ../_base_/demo_pretrain.py).
_base_ = ['../_base_/demo_pretrain.py']
train_dataloader = dict(
    num_workers=0,
    persistent_workers=False,  # explicit: upstream mmpretrain tools/train.py defaults it to True (needs workers)
    dataset=dict(
        type='RepeatDataset', times=4, dataset=dict(type='SkimageFaceDataset', pipeline={{_base_.train_pipeline}})
    ),
)
# Shared schedule of both demo stages: 1 warm-up epoch, cosine, 30 epochs on the CPU.
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=29, by_epoch=True, begin=1, end=30, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30)
