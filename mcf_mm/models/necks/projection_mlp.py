"""MLP projector / predictor on the CLS token (MoCo-v3 / MCF style)."""
from typing import List

from torch import Tensor, nn

from mcf_mm.registry import MODELS


@MODELS.register_module()
class ProjectionMLP(nn.Module):
    """Linear(no bias)-BN-ReLU blocks, then a last Linear(no bias) with optional BN.

    MCF projector: ``ProjectionMLP(768, 4096, 256, last_bn=True, last_bn_affine=False)``;
    MCF predictor: ``ProjectionMLP(256, 4096, 256, last_bn=False)``.

    Args:
        in_channels, hid_channels, out_channels: widths.
        num_layers: number of Linear layers (>= 2).
        last_bn: append BatchNorm1d after the last Linear.
        last_bn_affine: whether that last BN has learnable affine parameters.
    """

    def __init__(self, in_channels: int, hid_channels: int, out_channels: int, num_layers: int = 2,
                 last_bn: bool = True, last_bn_affine: bool = False) -> None:
        super().__init__()
        if num_layers < 2:
            raise ValueError(f'num_layers={num_layers} must be >= 2.')
        dims = [in_channels] + [hid_channels] * (num_layers - 1) + [out_channels]
        layers: List[nn.Module] = []
        for i in range(num_layers):
            layers.append(nn.Linear(dims[i], dims[i + 1], bias=False))
            if i < num_layers - 1:
                layers += [nn.BatchNorm1d(dims[i + 1]), nn.ReLU(inplace=True)]
            elif last_bn:
                layers.append(nn.BatchNorm1d(dims[i + 1], affine=last_bn_affine))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """[N, C_in] -> [N, C_out]."""
        return self.mlp(x)
