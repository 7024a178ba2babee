# As the random-init FASSEG config, but the backbone starts from the CPU MCF demo checkpoint
# (configs/mcf/cpu_demo, 30 epochs at 32 px; position embeddings are resized to the 64-px input on load).
_base_ = ['./vit-demo-p4_uperhead_1xb4-20e_fasseg-v2-128px.py']
pretrained = 'work_dirs/demo/mcf/epoch_30.pth'  # last epoch of configs/mcf/cpu_demo/mcf_vit-demo-p4_1xb32-30e_*
model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True, type='Pretrained', checkpoint=pretrained, source='auto', branch='online', min_matched=0.9
        )
    )
)
