# Runtime of the face parsing configs: mmseg's default runtime (scope mmseg), the mcf_mm backbone and the
# parsing plugin, epoch-based logging, EMA-evaluated weights.
_base_ = ['mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['mcf_mm', 'mcf_mm.downstream.parsing'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
)
# EMA of the weights (decay 0.999; mmengine's momentum is 1 - decay). The EMA weights are swapped in for
# validation/test and saved as the checkpoint's state_dict, so the evaluated model is the EMA model.
custom_hooks = [dict(type='EMAHook', momentum=0.001, priority='ABOVE_NORMAL')]

env_cfg = dict(cudnn_benchmark=False)  # mmseg's default is True; inputs here have one fixed size anyway
log_processor = dict(by_epoch=True)
randomness = dict(seed=0)
