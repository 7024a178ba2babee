# MCF reproduction recipe: ViT-B/16 at 224, 8 GPUs x 64 images x gradient accumulation 8 = 4096 per step,
# AdamW lr 2.4e-3, 1 warm-up epoch + cosine, 16 epochs, AMP.
#   tools/dist_train.sh configs/mcf/mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-224px.py 8
# The faithful settings of the original code's oddities are chosen here:
#   ema_update='micro_step'  (EMA on every forward: 8 updates per optimiser step under accumulation 8)
#   head.norm_dim='token'    (teacher features L2-normalised across tokens per channel)
#   symmetric=False          (one-directional InfoNCE)
#   linear_init='xavier_uniform'  (every Linear of encoder, decoder, projector, predictor; zero bias)
#   backbone/neck sincos_layout='mae'  (MAE's get_2d_sincos_pos_embed, not mmpretrain's row/column-swapped table)
#   target_generator.resize_mode='nearest'  (a non-224 input reaches the teacher by nearest resize)
#   param_scheduler window=accumulative_counts  (the lr is set once per accumulation window; warm-up from 0)
_base_ = [
    '../_base_/models/mcf_vit-base-p16.py',
    '../_base_/datasets/face_pretrain_224.py',
    '../_base_/schedules/adamw_cosine_16e.py',
    '../_base_/default_runtime.py',
]
# Gradient accumulation lives in the optim wrapper only; the EMA follows it ('micro_step': every forward).
model = dict(
    ema_update='micro_step',
    symmetric=False,
    linear_init='xavier_uniform',
    backbone=dict(sincos_layout='mae'),
    neck=dict(type='FaceMAEDecoder', sincos_layout='mae'),
    head=dict(norm_dim='token'),
    target_generator=dict(resize_mode='nearest'),
)
accumulative_counts = 8
optim_wrapper = dict(accumulative_counts=accumulative_counts)
param_scheduler = [dict(_base_.param_scheduler[0], window=accumulative_counts)]
train_dataloader = dict(batch_size=64)
# Effective batch for mmengine's --auto-scale-lr: 8 GPUs x 64 x 8.
auto_scale_lr = dict(base_batch_size=4096, enable=False)
