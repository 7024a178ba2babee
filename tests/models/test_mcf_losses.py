"""MCF losses against independent computations from the formulas (also across 2 gloo processes)."""
import math
import os
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import mcf_mm  # noqa: F401
from mcf_mm.models.heads import ContrastivePredictionHead, FeatureDistillHead
from mcf_mm.models.losses import feature_distill_loss, info_nce


def reference_info_nce(q: np.ndarray, k_all: np.ndarray, offset: int, tau: float) -> float:
    """Plain-numpy InfoNCE: -log softmax of the positive (column offset + i), times 2*tau."""
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    k_all = k_all / np.linalg.norm(k_all, axis=1, keepdims=True)
    total = 0.0
    for i in range(q.shape[0]):
        logits = [float(q[i] @ k_all[j]) / tau for j in range(k_all.shape[0])]
        top = max(logits)
        log_z = top + math.log(sum(math.exp(v - top) for v in logits))
        total += log_z - logits[offset + i]
    return total / q.shape[0] * 2 * tau


def fixed(n: int, c: int, seed: int) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(n, c))).float()


def test_info_nce_matches_formula():
    q, k = fixed(6, 8, 0), fixed(6, 8, 1)
    expected = reference_info_nce(q.numpy(), k.numpy(), 0, 0.2)
    assert info_nce(q, k, 0.2).item() == pytest.approx(expected, rel=1e-5)


def test_info_nce_positive_pairs_lower_the_loss():
    k = fixed(6, 8, 1)
    assert info_nce(k.clone(), k, 0.2) < info_nce(fixed(6, 8, 2), k, 0.2)


def test_contrastive_head_applies_predictor_and_weight():
    torch.manual_seed(0)
    head = ContrastivePredictionHead(dict(in_channels=8, hid_channels=16, out_channels=8, last_bn=False),
                                     temperature=0.2, loss_weight=0.5).eval()
    q, k = fixed(4, 8, 3), fixed(4, 8, 4)
    expected = 0.5 * reference_info_nce(head.predictor(q).detach().numpy(), k.numpy(), 0, 0.2)
    assert head.loss(q, k).item() == pytest.approx(expected, rel=1e-5)


def _worker(rank: int, port: int, q_all, k_all, results) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    n = q_all.shape[0] // 2
    loss = info_nce(q_all[rank * n:(rank + 1) * n], k_all[rank * n:(rank + 1) * n], 0.2)
    results[rank] = loss.item()
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_info_nce_two_processes_gathers_keys_and_offsets_labels():
    q_all, k_all = fixed(8, 8, 5), fixed(8, 8, 6)
    results = mp.get_context('spawn').Manager().dict()
    # spawn, not fork: forking after OpenMP threads started can deadlock the children
    mp.start_processes(_worker, args=(_free_port(), q_all, k_all, results), nprocs=2, join=True,
                       start_method='spawn')
    for rank in range(2):
        q = q_all[rank * 4:(rank + 1) * 4].numpy()
        expected = reference_info_nce(q, k_all.numpy(), 4 * rank, 0.2)  # keys from both, labels + 4*rank
        assert results[rank] == pytest.approx(expected, rel=1e-5)
    # without the offset, rank 1 would score against rank 0's keys: a different number
    wrong = reference_info_nce(q_all[4:].numpy(), k_all.numpy(), 0, 0.2)
    assert results[1] != pytest.approx(wrong, rel=1e-3)


def reference_distill(pred, target, axis: int) -> float:
    total = 0.0
    for p, t in zip(pred, target):
        p, t = p.numpy().astype(np.float64), t.numpy().astype(np.float64)
        p = p / np.maximum(np.sqrt((p ** 2).sum(axis=axis, keepdims=True)), 1e-12)
        t = t / np.maximum(np.sqrt((t ** 2).sum(axis=axis, keepdims=True)), 1e-12)
        total += ((p - t) ** 2).mean()
    return total


@pytest.mark.parametrize('norm_dim,axis', [('token', 1), ('channel', 2)])
def test_distill_loss_matches_formula(norm_dim, axis):
    pred = [torch.randn(2, 5, 6) for _ in range(3)]
    target = [torch.randn(2, 5, 6) for _ in range(3)]
    expected = reference_distill(pred, target, axis)
    assert feature_distill_loss(pred, target, norm_dim).item() == pytest.approx(expected, rel=1e-5)
    head = FeatureDistillHead(norm_dim=norm_dim, loss_weight=1000.0)
    assert head.loss(pred, target).item() == pytest.approx(1000 * expected, rel=1e-5)


def test_distill_axes_differ_and_target_is_detached():
    pred = [torch.randn(2, 5, 6, requires_grad=True)]
    target = [torch.randn(2, 5, 6, requires_grad=True)]
    a = feature_distill_loss(pred, target, 'token')
    assert a.item() != pytest.approx(feature_distill_loss(pred, target, 'channel').item())
    a.backward()
    assert pred[0].grad is not None and target[0].grad is None
    with pytest.raises(ValueError, match='norm_dim'):
        FeatureDistillHead(norm_dim='spatial')
