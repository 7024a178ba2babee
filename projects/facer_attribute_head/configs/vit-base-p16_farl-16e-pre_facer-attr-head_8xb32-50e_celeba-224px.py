# The facer attribute head on FaRL ViT-B/16 (the official 16-epoch release) for CelebA's 40 attributes at
# 224 px (FaRL reports 92.06 mean accuracy with facer's head). The release loads directly (CLIP `visual.*` keys).
# Layer choice, schedule and lr are this project's choices, not taken from facer's code.
_base_ = ['./vit-demo-p8_farl-demo-4e-pre_facer-attr-head_1xb32-10e_utkface-7attr-64px.py']

pretrained = 'checkpoints/FaRL-Base-Patch16-LAIONFace20M-ep16.pth'
custom_imports = dict(
    imports=[
        'mcf_mm',
        'mcf_mm.models',
        'mcf_mm.engine',
        'mcf_mm.downstream.classification',  # CelebAAttrDataset, MeanAttributeAccuracy
        'projects.facer_attribute_head.facer_attr',
    ],
    allow_failed_imports=False,
)
attributes = None  # the 40 names come from the dataset (CelebAAttrDataset's metainfo)
model = dict(
    backbone=dict(
        arch='base',
        img_size=224,
        patch_size=16,
        out_indices=(5, 7, 9, 11),
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained),
    ),
    head=dict(num_classes=40, in_channels=768, num_layers=4),
)

# The CelebA release read as it is (data/celeba: img_align_celeba/, list_attr_celeba.txt, list_eval_partition.txt)
# by mcf_mm's CelebAAttrDataset: train 162,770 / val 19,867 / test 19,962 aligned 178 x 218 crops.
data_root = '{{$MCF_MM_DATA:data}}/celeba'
_size = 224
# The demo's pipelines at 224 px, bicubic.
pipeline_changes = dict(Resize=dict(scale=(_size, _size), interpolation='bicubic'))
train_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.train_pipeline]
test_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.test_pipeline]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    dataset=dict(_delete_=True, type='CelebAAttrDataset', data_root=data_root, split='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    dataset=dict(_delete_=True, type='CelebAAttrDataset', data_root=data_root, split='val', pipeline=test_pipeline),
)
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))
val_evaluator = dict(_delete_=True, type='MeanAttributeAccuracy')  # per-attribute names from the dataset
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=1e-4), paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=49, by_epoch=True, begin=1, end=50, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=50, val_interval=5)
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=5, max_keep_ckpts=2))
