# MCF at small scale. Its frozen teacher is the MAE encoder of the baseline run (no published teacher exists at
# this size): MCF's result therefore builds on the MAE run's compute as well, which the studies state. The default
# teacher path is where tools/analysis_tools/utkface_study.py writes the MAE run.
_base_ = ['./_utkface_64px.py', '../../_base_/models/mcf_vit-demo-p4.py']
model = dict(
    backbone=dict(img_size=64),
    neck=dict(num_patches=256),
    target_generator=dict(checkpoint='work_dirs/utkface_study/mae/iter_600.pth', img_size=64),
)
