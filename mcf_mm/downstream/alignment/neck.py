"""The 4-scale pyramid neck on ViT features, mmseg's ``Feature2Pyramid`` registered for mmpose."""
from mmpose.registry import MODELS
from mmseg.models.necks import Feature2Pyramid


@MODELS.register_module()
class FacePyramidNeck(Feature2Pyramid):
    """Same-size ViT maps [N, D, h, w] x 4 -> maps at 4x, 2x, 1x, 0.5x (ConvT-BN-GELU-ConvT; ConvT;
    identity; max-pool), identical to mmseg's ``Feature2Pyramid(D, rescales=[4, 2, 1, 0.5])``.

    Args:
        embed_dim: ViT width (768 for ViT-B).
        rescales: scale factor of each level.
        norm_cfg: norm after the first ConvT (SyncBN for multi-GPU runs; tools/train.py reverts it on CPU).
    """

    def __init__(self, embed_dim: int, rescales=(4, 2, 1, 0.5), norm_cfg: dict = dict(type='SyncBN')) -> None:
        super().__init__(embed_dim, rescales=list(rescales), norm_cfg=norm_cfg)

    def forward(self, inputs):
        if len(inputs) != len(self.rescales):
            raise ValueError(f'FacePyramidNeck got {len(inputs)} feature maps but has {len(self.rescales)} '
                             'rescales; make the backbone out_indices match (e.g. (3, 5, 7, 11)).')
        # mmseg indexes a fixed op list by position; look each level's op up by its own rescale instead,
        # so any subset of rescales works (identical result for [4, 2, 1, 0.5]).
        ops = {4: 'upsample_4x', 2: 'upsample_2x', 1: 'identity', 0.5: 'downsample_2x', 0.25: 'downsample_4x'}
        return tuple(getattr(self, ops[k])(x) for k, x in zip(self.rescales, inputs))
