# Runtime shared by mcf_mm pre-training configs (mmpretrain host, scope mcf_mm).
default_scope = 'mcf_mm'
custom_imports = dict(imports=['mcf_mm', 'mcf_mm.models', 'mcf_mm.datasets', 'mcf_mm.engine'],
                      allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
# RNGStateHook makes resumed runs draw the same masks/flips as uninterrupted ones.
custom_hooks = [dict(type='RNGStateHook'), dict(type='SkippedImagesHook')]

env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_processor = dict(window_size=10, custom_cfg=[dict(data_src='', method='mean', window_size='global')])
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, diff_rank_seed=True)
