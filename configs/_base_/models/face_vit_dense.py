# The face ViT backbone block of the dense downstream models (alignment and parsing), written once: mcf_mm's
# FaceViT returns the raw outputs of the chosen blocks as feature maps (no final norm), images are
# ImageNet-normalised RGB. The sizes are the FaRL/MCF protocol's ViT-B/16 (512-px crops resized to 448
# inside the net, blocks [3, 5, 7, 11]); the demo bases change only the sizes and out_indices. Each task
# base adds its preprocessor type, neck and head; each model base its `arch` and initialisation.
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        _scope_='mcf_mm',
        type='FaceViT',
        img_size=448,
        patch_size=16,
        resize_input=448,
        out_indices=(3, 5, 7, 11),
        out_type='featmap',
        final_norm=False,
    ),
)
