"""Convert an mcf_mm pre-training checkpoint (MCF algorithm); --branch online=backbone., target=EMA
target.backbone. to an mmpretrain/mcf_mm backbone checkpoint.

Usage: python tools/model_converters/mcf_mm_extract_backbone.py SRC DST [--branch online|target] [--num-heads H]
The output (`{'state_dict': {'backbone.*'}, 'meta': {'vit_kwargs': ...}}`) loads with FaceViT's
`init_cfg=dict(type='Pretrained', checkpoint=DST)` and with `weights_only=True`.
"""
import mcf_mm  # noqa: F401  (environment fixes)
from mcf_mm.checkpoint import converter_cli


def main(argv=None) -> dict:
    """Run the conversion; returns the written meta."""
    return converter_cli('mcf_mm', __doc__.split('\n\n')[0], argv)


if __name__ == '__main__':
    main()
