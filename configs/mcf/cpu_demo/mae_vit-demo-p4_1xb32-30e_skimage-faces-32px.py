# Demo stage 1: mmpretrain's MAE trains the demo ViT that MCF then uses as its frozen teacher
# (at this scale no published teacher exists; an MAE encoder is the honest stand-in).
_base_ = ['../../_base_/default_runtime.py', '../../_base_/models/mae_vit-demo-p4.py', './_demo_common.py']
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=10, max_keep_ckpts=1))
