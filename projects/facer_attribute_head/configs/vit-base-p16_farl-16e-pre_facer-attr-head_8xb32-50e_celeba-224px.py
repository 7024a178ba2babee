# The facer attribute head on FaRL ViT-B/16 (the official 16-epoch release) for CelebA's 40 attributes at
# 224 px (FaRL reports 92.06 mean accuracy with facer's head). The release loads directly (CLIP `visual.*` keys).
# Layer choice, schedule and lr are this project's choices, not taken from facer's code.
_base_ = ['./vit-demo-p8_farl-demo-4e-pre_facer-attr-head_1xb32-10e_utkface-7attr-64px.py']

pretrained = 'checkpoints/FaRL-Base-Patch16-LAIONFace20M-ep16.pth'
attributes = [
    '5_o_Clock_Shadow',
    'Arched_Eyebrows',
    'Attractive',
    'Bags_Under_Eyes',
    'Bald',
    'Bangs',
    'Big_Lips',
    'Big_Nose',
    'Black_Hair',
    'Blond_Hair',
    'Blurry',
    'Brown_Hair',
    'Bushy_Eyebrows',
    'Chubby',
    'Double_Chin',
    'Eyeglasses',
    'Goatee',
    'Gray_Hair',
    'Heavy_Makeup',
    'High_Cheekbones',
    'Male',
    'Mouth_Slightly_Open',
    'Mustache',
    'Narrow_Eyes',
    'No_Beard',
    'Oval_Face',
    'Pale_Skin',
    'Pointy_Nose',
    'Receding_Hairline',
    'Rosy_Cheeks',
    'Sideburns',
    'Smiling',
    'Straight_Hair',
    'Wavy_Hair',
    'Wearing_Earrings',
    'Wearing_Hat',
    'Wearing_Lipstick',
    'Wearing_Necklace',
    'Wearing_Necktie',
    'Young',
]
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

img_dir = '{{$MCF_MM_DATA:data}}/celeba/img_align_celeba'  # aligned 178x218 crops
# made by projects/facer_attribute_head/tools/make_attribute_annotations.py celeba list_attr_celeba.txt ...
ann_root = '{{$MCF_MM_DATA:data}}/celeba/mm_ann/'
_size = 224
# The demo's pipelines at 224 px, bicubic.
pipeline_changes = dict(Resize=dict(scale=(_size, _size), interpolation='bicubic'))
train_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.train_pipeline]
test_pipeline = [dict(t, **pipeline_changes.get(t.type, {})) for t in _base_.test_pipeline]
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    dataset=dict(data_prefix=dict(img_path=img_dir), ann_file=ann_root + 'train.json', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    dataset=dict(train_dataloader['dataset'], ann_file=ann_root + 'val.json', pipeline=test_pipeline),
)
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], ann_file=ann_root + 'test.json'))
val_evaluator = dict(type='MeanAttributeAccuracy', attribute_names=attributes)
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=1e-4), paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=49, by_epoch=True, begin=1, end=50, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=50, val_interval=5)
default_hooks = dict(logger=dict(interval=100), checkpoint=dict(interval=5, max_keep_ckpts=2))
