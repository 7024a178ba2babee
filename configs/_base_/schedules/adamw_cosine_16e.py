# AdamW (0.9, 0.95), wd 0.05 without decay on biases, norms and other 1-D parameters; 1 warm-up epoch then
# half-cosine per iteration to 0; 16 epochs. lr = 1.5e-4 x 4096 / 256.
# The schedule is MAE's (MCF's) closed form: linear warm-up from lr 0, then half-cosine, with the value set once
# per accumulation window at its first micro-iteration (`window`: the recipe sets its accumulative_counts).
# mmengine's LinearLR + CosineAnnealingLR (per micro-iteration, warm-up from a non-zero start) is the alternative.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=2.4e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0, flat_decay_mult=0.0),
)
param_scheduler = [
    dict(
        type='WindowedWarmupCosineLR',
        warmup_epochs=1,
        epochs=16,
        window=1,
        eta_min=0.0,
        by_epoch=True,
        convert_to_iter_based=True,
    )
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=16)
