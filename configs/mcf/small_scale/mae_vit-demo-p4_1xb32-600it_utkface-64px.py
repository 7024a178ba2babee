# Baseline: mmpretrain's MAE, same encoder and decoder as the MCF run, same data and budget, at 64 px.
_base_ = ['./_utkface_64px.py', '../../_base_/models/mae_vit-demo-p4.py']
model = dict(backbone=dict(img_size=64), neck=dict(num_patches=256))
