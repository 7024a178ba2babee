"""MoCo-v3 / MCF projector and predictor: mmpretrain's NonLinearNeck with plain BatchNorm on the CLS token."""

import re
from typing import Optional

from mmpretrain.models.necks import NonLinearNeck

from mcf_mm.registry import MODELS

# Parameter names of the former nn.Sequential version: Linear i was `mlp.{3i}`, its BatchNorm `mlp.{3i+1}`.
_OLD_NAME = re.compile(r'^mlp\.(\d+)\.(.+)$')


@MODELS.register_module()
class ProjectionMLP(NonLinearNeck):
    """Linear(no bias)-BN-ReLU blocks, then a last Linear(no bias) with optional BN (``NonLinearNeck``).

    MCF projector: ``ProjectionMLP(768, 4096, 256, last_bn=True, last_bn_affine=False)``;
    MCF predictor: ``ProjectionMLP(256, 4096, 256, last_bn=False)``. Input and output follow mmpretrain's
    neck convention: a 1-tuple ``([N, C_in],)`` -> ``([N, C_out],)``.

    Checkpoints written before the switch to ``NonLinearNeck`` (names ``mlp.0``, ``mlp.1``, ``mlp.3``, ...)
    load unchanged: their names are mapped to ``fc{i}`` / ``bn{i}`` when read.

    Args:
        in_channels, hid_channels, out_channels: widths.
        num_layers: number of Linear layers (>= 2).
        last_bn: append BatchNorm1d after the last Linear.
        last_bn_affine: whether that last BN has learnable affine parameters.
        norm_cfg: the norm layer (MoCo-v3/MCF: plain ``BN1d``; ``SyncBN`` is mmpretrain's default).
    """

    def __init__(
        self,
        in_channels: int,
        hid_channels: int,
        out_channels: int,
        num_layers: int = 2,
        last_bn: bool = True,
        last_bn_affine: bool = False,
        norm_cfg: dict = dict(type='BN1d'),
        init_cfg: Optional[dict] = None,
    ) -> None:
        if num_layers < 2:
            raise ValueError(f'num_layers={num_layers} must be >= 2.')
        kwargs = {} if init_cfg is None else dict(init_cfg=init_cfg)
        super().__init__(
            in_channels,
            hid_channels,
            out_channels,
            num_layers=num_layers,
            with_bias=False,
            with_last_bn=last_bn,
            with_last_bn_affine=last_bn_affine,
            with_last_bias=False,
            with_avg_pool=False,
            norm_cfg=norm_cfg,
            **kwargs,
        )

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Rename the former ``mlp.{3i}`` / ``mlp.{3i+1}`` keys to ``fc{i}`` / ``bn{i}`` before loading."""
        for key in [k for k in state_dict if k.startswith(prefix)]:
            match = _OLD_NAME.match(key[len(prefix) :])
            if match:
                index, rest = int(match.group(1)), match.group(2)
                kind = {0: 'fc', 1: 'bn'}.get(index % 3)
                if kind is not None:
                    state_dict[f'{prefix}{kind}{index // 3}.{rest}'] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
