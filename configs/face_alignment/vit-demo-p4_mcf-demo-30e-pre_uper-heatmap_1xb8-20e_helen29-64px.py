# As the random-init Helen-29 config, but the backbone starts from the CPU MCF demo's checkpoint
# (configs/mcf/cpu_demo, 30 epochs, mcf_mm format, keys under `backbone.`; same 32-px input, so no position
# resizing).
_base_ = ['./vit-demo-p4_uper-heatmap_1xb8-20e_helen29-64px.py']

pretrained = 'work_dirs/demo/mcf/epoch_30.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, source='auto', branch='online', min_matched=0.9)
    )
)
