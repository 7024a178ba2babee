"""ProjectionMLP is mmpretrain's NonLinearNeck (plain BN, no pooling) and reads checkpoints of the former
nn.Sequential version."""

from typing import List

import pytest
import torch
from mmpretrain.models.necks import NonLinearNeck
from torch import nn

import mcf_mm  # noqa: F401
from mcf_mm.models.necks import ProjectionMLP


def former_mlp(cin: int, hid: int, cout: int, layers: int, last_bn: bool, affine: bool) -> nn.Sequential:
    """The MoCo-v3 projector as written by hand: (Linear-BN-ReLU) x (layers - 1), Linear, optional BN."""
    dims = [cin] + [hid] * (layers - 1) + [cout]
    mods: List[nn.Module] = []
    for i in range(layers):
        mods.append(nn.Linear(dims[i], dims[i + 1], bias=False))
        if i < layers - 1:
            mods += [nn.BatchNorm1d(dims[i + 1]), nn.ReLU(inplace=True)]
        elif last_bn:
            mods.append(nn.BatchNorm1d(dims[i + 1], affine=affine))
    return nn.Sequential(*mods)


CASES = [(2, True, False), (2, False, False), (3, True, True)]  # MCF projector, MCF predictor, a 3-layer one


@pytest.mark.parametrize('layers,last_bn,affine', CASES)
def test_equals_the_handwritten_mlp_in_train_and_eval(layers, last_bn, affine):
    torch.manual_seed(0)
    ref = former_mlp(8, 16, 4, layers, last_bn, affine)
    torch.manual_seed(0)  # same draws in the same order: the same initial weights
    ours = ProjectionMLP(8, 16, 4, num_layers=layers, last_bn=last_bn, last_bn_affine=affine)
    ours.init_weights()
    assert isinstance(ours, NonLinearNeck)
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), ours.state_dict().values()))
    x = torch.randn(6, 8)
    assert torch.equal(ours([x])[0], ref(x))  # train mode: batch statistics, running stats updated
    assert all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), ours.state_dict().values()))
    ref.eval(), ours.eval()
    assert torch.equal(ours([x])[0], ref(x))
    bn = ours.bn_names[-1]
    assert (bn is not None) == last_bn
    if last_bn:
        assert (getattr(ours, bn).weight is not None) == affine


def test_reads_former_parameter_names():
    torch.manual_seed(1)
    ref = former_mlp(8, 16, 4, 2, True, False)
    ref([torch.randn(6, 8)][0])  # non-trivial running statistics
    old = {f'mlp.{k}': v for k, v in ref.state_dict().items()}  # how ProjectionMLP was saved before
    ours = ProjectionMLP(8, 16, 4)
    result = ours.load_state_dict(old, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert torch.equal(ours.fc0.weight, ref[0].weight) and torch.equal(ours.bn1.running_var, ref[4].running_var)
    x = torch.randn(3, 8)
    ref.eval(), ours.eval()
    assert torch.equal(ours([x])[0], ref(x))
    ours.load_state_dict(ours.state_dict(), strict=True)  # the new names load as they are


def test_num_layers_below_two_is_refused():
    with pytest.raises(ValueError, match='num_layers=1 must be >= 2'):
        ProjectionMLP(8, 16, 4, num_layers=1)
