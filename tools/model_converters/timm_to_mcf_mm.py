"""Convert a timm or MAE ViT checkpoint (plain timm state dict, or MAE's {'model': ...}); heads and the MAE
decoder are dropped to an mmpretrain/mcf_mm backbone checkpoint.

Usage: python tools/model_converters/timm_to_mcf_mm.py SRC DST [--branch online|target] [--num-heads H]
The output (`{'state_dict': {'backbone.*'}, 'meta': {'vit_kwargs': ...}}`) loads with FaceViT's
`init_cfg=dict(type='Pretrained', checkpoint=DST)` and with `weights_only=True`.
"""
import mcf_mm  # noqa: F401  (environment fixes)
from mcf_mm.checkpoint import converter_cli


def main(argv=None) -> dict:
    """Run the conversion; returns the written meta."""
    return converter_cli('timm', __doc__.split('\n\n')[0], argv)


if __name__ == '__main__':
    main()
