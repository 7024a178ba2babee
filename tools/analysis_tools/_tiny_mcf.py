"""The tiny MCF of the stress tools and the tests' tiny configs: config text for a 2-block 32-d ViT at 32 px.

Shared by tools/analysis_tools/kill_resume_trials.py, shard_epoch_check.py and tests/mcf_fixtures/tiny.py.
"""

TINY_ARCH = dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64)


def tiny_mcf_model(teacher: str, model_extra: str = '') -> str:
    """Config text of the tiny arch, the ``model`` overrides (plus ``model_extra``, e.g. ``"ema_update='step'"``)
    and a 32-px ``train_pipeline``, to put into a config that inherits an MCF recipe.

    Args:
        teacher: path of a tiny teacher checkpoint (2 blocks, 32-d, 32 px).
        model_extra: more ``model`` keyword arguments, as config text.
    """
    extra = f',\n    {model_extra}' if model_extra else ''
    return f"""arch = {TINY_ARCH!r}
model = dict(
    backbone=dict(arch=dict(_delete_=True, **arch), img_size=32, patch_size=8),
    neck=dict(num_patches=16, patch_size=8, embed_dim=32, decoder_embed_dim=32, decoder_depth=1,
              decoder_num_heads=2),
    target_generator=dict(checkpoint={teacher!r}, out_indices=(0, 1), img_size=32, num_heads=2),
    projector=dict(in_channels=32, hid_channels=64, out_channels=16),
    contrast_head=dict(predictor=dict(in_channels=16, hid_channels=64, out_channels=16)){extra})
train_pipeline = [
    dict(type='Resize', scale=(32, 32), interpolation='bilinear', backend='cv2'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=[], meta_keys=['img_path', 'sample_idx']),
]
"""
