# AdamW (0.9, 0.95), wd 0.05 without decay on biases, norms and other 1-D parameters; 1 warm-up epoch then
# half-cosine per iteration to 0; 16 epochs. lr = 1.5e-4 x 4096 / 256.
# mmengine steps the schedulers on every micro-iteration, so under gradient accumulation the optimiser uses the
# value of each window's last micro-iteration (the original sets it once, at the window's first: within
# accumulative_counts / iterations-per-epoch of the full lr). The warm-up starts at 1e-8 x lr: LinearLR cannot
# start at exactly 0 (its chained update divides by start_factor).
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=2.4e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-8, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=15, eta_min=0.0, by_epoch=True, begin=1, end=16, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=16)
