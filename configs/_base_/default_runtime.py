# Runtime of the mcf_mm pre-training configs: mmpretrain's default runtime, in the mcf_mm scope.
_base_ = ['mmpretrain::_base_/default_runtime.py']

default_scope = 'mcf_mm'
custom_imports = dict(
    imports=['mcf_mm', 'mcf_mm.models', 'mcf_mm.datasets', 'mcf_mm.engine'], allow_failed_imports=False
)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    logger=dict(interval=50),
    checkpoint=dict(max_keep_ckpts=3),
)  # + mmpretrain's VisualizationHook, disabled (enable=False) unless a config turns it on
# RNGStateHook makes resumed runs draw the same masks/flips as uninterrupted ones.
custom_hooks = [dict(type='RNGStateHook'), dict(type='SkippedImagesHook')]

# DDP that runs the model's pre-step (MCF's ema_update='step' catch-up), which mmengine's DDP train step skips;
# broadcast_buffers=False as mmengine's default DDP.
model_wrapper_cfg = dict(type='PreStepDistributedDataParallel', broadcast_buffers=False)
log_processor = dict(window_size=10, custom_cfg=[dict(data_src='', method='mean', window_size='global')])
randomness = dict(seed=0, diff_rank_seed=True)
