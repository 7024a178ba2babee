# The parts that MCF and its MAE baseline share at every size, written once: ImageNet-normalised RGB, an
# encoder that sees 25 % of the patches (mask ratio 0.75) and MAE's pixel-space decoder (MLP ratio 4). The
# model bases set the algorithm, the encoder type and sizes, the decoder's widths and the head.
model = dict(
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True
    ),
    backbone=dict(mask_ratio=0.75),
    neck=dict(type='MAEPretrainDecoder', in_chans=3, mlp_ratio=4),
)
