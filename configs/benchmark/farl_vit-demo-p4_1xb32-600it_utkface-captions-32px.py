# FaRL at the budget of the small-scale MAE / MCF pre-trainings (tools/analysis_tools/utkface_study.py: 600
# iterations x 32 UTKFace train-split images at 32 px, the demo ViT with patch 4, i.e. an 8 x 8 token grid),
# for the CPU backbone benchmark (docs/benchmark.md). The FaRL CPU demo's recipe
# (configs/farl/farl_vit-demo-p8_1xb32-4e_utkface-captions-64px.py: captions from the file-name labels, k-means
# visual tokenizer, ~40 % BEiT masking) with patch 4 at 32 px instead of patch 8 at 64 px (the same 8 x 8 grid)
# and the study's iteration schedule (50 warm-up iterations, cosine to 600). The two inputs (commands in
# docs/benchmark.md): image-text shards of the UTKFace train split and a k-means tokenizer over 4 x 4 patches.
_base_ = ['../farl/farl_vit-demo-p8_1xb32-4e_utkface-captions-64px.py']

img_size = 32
max_iters = 600
work = 'work_dirs/bench_pretrain/'
model = dict(
    backbone=dict(img_size=img_size, patch_size=4),
    target_generator=dict(
        encoder=dict(type='PatchKMeansEncoder', patch_size=4, num_tokens=256),
        checkpoint=work + 'farl_tokenizer/kmeans256_p4_32px.pth',
        input_size=img_size,
    ),
)
train_pipeline = [
    dict(type='Resize', scale=(img_size, img_size), interpolation='bilinear', backend='cv2'),
    dict(type='BEiTMaskGenerator', input_size=(8, 8), num_masking_patches=26, min_num_patches=4),  # ~40 %
    dict(type='TokenizeText', context_length=32),
    dict(type='PackInputs', algorithm_keys=['text_tokens'], meta_keys=['key', 'sample_idx']),
]
train_dataloader = dict(
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(data_root=work + 'farl_shards/', pipeline=train_pipeline),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=max_iters - 50, eta_min=0.0, by_epoch=False, begin=50, end=max_iters),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0)
