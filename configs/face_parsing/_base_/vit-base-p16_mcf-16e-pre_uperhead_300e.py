# The FaRL/MCF parsing protocol without its dataset, shared by the LaPa and CelebAMask-HQ configs: runtime,
# ViT-B/16 (from MCF, 16 pre-training epochs) + Feature2Pyramid + UPerHead, AdamW 300 epochs with EMA.
_base_ = ['./default_runtime.py', './models/vit-base-p16_uperhead.py', './schedules/adamw_300e.py']
# FaRL's EMA averages the float buffers (BN running statistics) as well as the parameters; mmengine's
# default (update_buffers=False, kept by the CPU configs) copies the live model's buffers instead.
custom_hooks = [dict(type='EMAHook', momentum=0.001, update_buffers=True, priority='ABOVE_NORMAL')]
