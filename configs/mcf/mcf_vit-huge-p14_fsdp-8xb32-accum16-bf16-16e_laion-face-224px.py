# MCF with a ViT-H/14 online encoder (1280-d, 32 blocks, patch 14: 16 x 16 patches at 224), trained fully
# sharded (FSDP) in bf16 with activation checkpointing: 8 GPUs x 32 images x accumulation 16 = 4096 per step.
#   tools/dist_train.sh configs/mcf/mcf_vit-huge-p14_fsdp-8xb32-accum16-bf16-16e_laion-face-224px.py 8
# Everything else as the ViT-L/16 FSDP config (see its header and docs/fsdp.md); MAE's ViT-H decoder (512-d,
# 8 blocks, 16 heads, patch 14); the teacher stays the ViT-B/16 (it sees the 224-px image with its own patch 16).
_base_ = ['./mcf_vit-large-p16_fsdp-8xb64-accum8-bf16-16e_laion-face-224px.py']

accumulative_counts = 16
model = dict(
    backbone=dict(arch='huge', patch_size=14),
    neck=dict(num_patches=256, patch_size=14, embed_dim=1280),
    projector=dict(in_channels=1280),
    momentum=0.99**accumulative_counts,
)
optim_wrapper = dict(accumulative_counts=accumulative_counts)
param_scheduler = [dict(_base_.param_scheduler[0], window=accumulative_counts)]
train_dataloader = dict(batch_size=32)
