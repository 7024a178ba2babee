# Demo stage 2 (the README's main job runs both stages): MCF on the bundled faces, 2 CPU cores, minutes.
# The teacher is the stage-1 MAE encoder (override model.target_generator.checkpoint to use another).
_base_ = ['../../_base_/default_runtime.py', '../../_base_/models/mcf_vit-demo-p4.py', './_demo_common.py']
model = dict(target_generator=dict(checkpoint='work_dirs/demo/mae_teacher/epoch_30.pth'))
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=2))
