"""MCF losses against independent computations from the formulas (also across 2 gloo processes); the
contrastive head is mmpretrain's MoCoV3Head."""

import math
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import mcf_mm  # noqa: F401
from mcf_fixtures.dist import free_port
from mcf_mm.models.heads import ContrastivePredictionHead, FeatureDistillHead
from mcf_mm.models.losses import feature_distill_loss


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


def tiny_head(weight: float = 1.0) -> ContrastivePredictionHead:
    torch.manual_seed(0)
    return ContrastivePredictionHead(
        dict(in_channels=8, hid_channels=16, out_channels=8, last_bn=False), temperature=0.2, loss_weight=weight
    ).eval()


def test_contrastive_head_matches_formula():
    head = tiny_head(0.5)
    q, k = fixed(6, 8, 3), fixed(6, 8, 4)
    expected = 0.5 * reference_info_nce(head.predictor([q])[0].detach().numpy(), k.numpy(), 0, 0.2)
    assert head.loss(q, k).item() == pytest.approx(expected, rel=1e-5)


def test_contrastive_head_is_mmpretrains_mocov3_head():
    """The head is MoCoV3Head with CrossEntropyLoss(loss_weight=2τ·w); only the fp32 cast is added."""
    from mmpretrain.models import CrossEntropyLoss, MoCoV3Head

    head = tiny_head(0.5)
    assert isinstance(head, MoCoV3Head) and isinstance(head.loss_module, CrossEntropyLoss)
    assert head.loss_module.loss_weight == pytest.approx(2 * 0.2 * 0.5) and head.temperature == 0.2
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):  # AMP: the Linear layers run in bf16
        assert head.predictor.fc0(fixed(4, 8, 5)).dtype == torch.bfloat16
        pred = head.predictor([fixed(4, 8, 5)])[0]
    assert pred.dtype == torch.float32  # the head's predictor hands the loss fp32
    q, k = fixed(6, 8, 5), fixed(6, 8, 6)
    loss_bf16_keys = head.loss(q, k.bfloat16())  # keys are cast to fp32 before normalisation
    assert loss_bf16_keys.dtype == torch.float32
    expected = 0.5 * reference_info_nce(head.predictor([q])[0].detach().numpy(), k.bfloat16().float().numpy(), 0, 0.2)
    assert loss_bf16_keys.item() == pytest.approx(expected, rel=1e-5)


def test_positive_pairs_lower_the_loss():
    head = tiny_head()
    q = fixed(6, 8, 1)
    with torch.no_grad():
        own = head.predictor([q])[0]
    assert head.loss(q, own) < head.loss(q, fixed(6, 8, 2))


def _worker(rank: int, port: int, q_all, k_all, results) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    n = q_all.shape[0] // 2
    head = tiny_head()  # same seed on both ranks: the same predictor
    q = q_all[rank * n : (rank + 1) * n]
    loss = head.loss(q, k_all[rank * n : (rank + 1) * n])
    results[rank] = (loss.item(), head.predictor([q])[0].detach())
    dist.destroy_process_group()


@pytest.mark.slow
def test_contrast_two_processes_gathers_keys_and_offsets_labels():
    q_all, k_all = fixed(8, 8, 5), fixed(8, 8, 6)
    results = mp.get_context('spawn').Manager().dict()
    # spawn, not fork: forking after OpenMP threads started can deadlock the children
    mp.start_processes(_worker, args=(free_port(), q_all, k_all, results), nprocs=2, join=True, start_method='spawn')
    for rank in range(2):
        loss, pred = results[rank]
        expected = reference_info_nce(pred.numpy(), k_all.numpy(), 4 * rank, 0.2)  # keys from both, labels + 4*rank
        assert loss == pytest.approx(expected, rel=1e-5)
    # without the offset, rank 1 would score against rank 0's keys: a different number
    wrong = reference_info_nce(results[1][1].numpy(), k_all.numpy(), 0, 0.2)
    assert results[1][0] != pytest.approx(wrong, rel=1e-3)


def reference_distill(pred, target, axis: int) -> float:
    total = 0.0
    for p, t in zip(pred, target):
        p, t = p.numpy().astype(np.float64), t.numpy().astype(np.float64)
        p = p / np.maximum(np.sqrt((p**2).sum(axis=axis, keepdims=True)), 1e-12)
        t = t / np.maximum(np.sqrt((t**2).sum(axis=axis, keepdims=True)), 1e-12)
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
