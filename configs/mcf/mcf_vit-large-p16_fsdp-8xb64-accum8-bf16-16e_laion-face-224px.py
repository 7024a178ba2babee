# MCF with a ViT-L/16 online encoder (1024-d, 24 blocks), trained fully sharded (FSDP) in bf16 with activation
# checkpointing: 8 GPUs x 64 images x gradient accumulation 8 = 4096 per step, as the ViT-B/16 recipe.
#   tools/dist_train.sh configs/mcf/mcf_vit-large-p16_fsdp-8xb64-accum8-bf16-16e_laion-face-224px.py 8
# Memory estimates per GPU and how to run: docs/fsdp.md.
# Changes from the ViT-B/16 recipe, all of them for scale:
#   - encoder arch 'large'; MAE's ViT-L decoder (512-d, 8 blocks, 16 heads); projector input 1024-d;
#     the frozen teacher stays the MoCo-v3 ViT-B/16 of the recipe (replicated on every GPU, never sharded);
#   - runner FaceFlexibleRunner + FaceFSDPStrategy (mcf_mm/engine/fsdp.py): every transformer block and both
#     projectors are FSDP units, so the EMA target's shards line up with the online encoder's;
#   - bf16: FSDP unit parameters in bf16 with fp32 gradient reduction and fp32 master weights, plus autocast;
#     no loss scaler, so the optim wrapper is a plain OptimWrapper (not AmpOptimWrapper);
#   - ema_update='step' with momentum 0.99 ** accumulative_counts: under FSDP the EMA cannot run inside the
#     forward ('micro_step'); at every optimiser step the target equals the recipe's (the online weights do not
#     change inside an accumulation window), only the keys of the window's later micro-steps differ.
_base_ = ['./mcf_vit-base-p16_8xb64-accum8-amp-16e_laion-face-224px.py']

accumulative_counts = 8
model = dict(
    backbone=dict(arch='large'),
    neck=dict(embed_dim=1024, decoder_embed_dim=512, decoder_depth=8, decoder_num_heads=16),
    projector=dict(in_channels=1024),
    ema_update='step',
    momentum=0.99**accumulative_counts,
)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    accumulative_counts=accumulative_counts,
    optimizer=_base_.optim_wrapper.optimizer,
    paramwise_cfg=_base_.optim_wrapper.paramwise_cfg,
)
param_scheduler = [dict(_base_.param_scheduler[0], window=accumulative_counts)]
train_dataloader = dict(batch_size=64)

runner_type = 'FaceFlexibleRunner'
strategy = dict(
    type='FaceFSDPStrategy',
    # 'full': one file with the unsharded model's keys (rank 0 gathers); 'local': one shard file per GPU.
    state_dict_cfg='full',
    model_wrapper=dict(
        type='MCFShardedDataParallel',
        ignored_module_names=('target_generator',),
        activation_checkpointing=True,
        sharding_strategy='FULL_SHARD',
        mixed_precision=dict(param_dtype='bfloat16', reduce_dtype='float32', buffer_dtype=None),
    ),
)
