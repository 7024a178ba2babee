"""ContrastivePredictionHead with batches of different sizes per process (drop_bad_collate under DDP): the keys of
all processes are gathered and the labels offset by the sizes of the lower ranks; equal sizes give MoCoV3Head's loss.
"""

import math
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import mcf_mm  # noqa: F401
from mcf_fixtures.dist import free_port
from mcf_mm.models.heads import ContrastivePredictionHead

TAU = 0.2
SIZES = (5, 2)  # rank 0's batch lost nothing, rank 1's lost 3 samples


def head(weight: float = 1.0) -> ContrastivePredictionHead:
    torch.manual_seed(0)
    return ContrastivePredictionHead(
        dict(in_channels=8, hid_channels=16, out_channels=8, last_bn=False), temperature=TAU, loss_weight=weight
    ).eval()


def fixed(n: int, c: int, seed: int) -> torch.Tensor:
    return torch.from_numpy(np.random.default_rng(seed).normal(size=(n, c))).float()


def written_out_loss(pred: np.ndarray, keys: np.ndarray, offset: int, weight: float) -> float:
    """Mean over this rank's rows i of -log(exp(q_i·k_{offset+i}/τ) / Σ_j exp(q_i·k_j/τ)), q, k unit rows, × 2τ·w."""
    q = pred.astype(np.float64) / np.linalg.norm(pred, axis=1, keepdims=True)
    k = keys.astype(np.float64) / np.linalg.norm(keys, axis=1, keepdims=True)
    total = 0.0
    for i in range(len(q)):
        logits = [float(q[i] @ k[j]) / TAU for j in range(len(k))]
        top = max(logits)
        total += top + math.log(sum(math.exp(v - top) for v in logits)) - logits[offset + i]
    return total / len(q) * 2 * TAU * weight


def test_equal_sizes_one_process_is_mmpretrains_mocov3_head():
    from mmpretrain.models import MoCoV3Head

    ours = head(0.5)
    q, k = fixed(6, 8, 1), fixed(6, 8, 2)
    with torch.no_grad():
        expected = MoCoV3Head.loss(ours, q, k)  # mmpretrain's own loss on the same module
    assert torch.equal(ours.loss(q, k), expected)
    assert ours.loss(q, k).item() == pytest.approx(
        written_out_loss(ours.predictor([q])[0].detach().numpy(), k.numpy(), 0, 0.5), rel=1e-5
    )


def _worker(rank: int, port: int, q_all, k_all, results) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    start = sum(SIZES[:rank])
    q = q_all[start : start + SIZES[rank]].clone().requires_grad_(True)
    h = head(0.5)  # same seed on both ranks: the same predictor
    loss = h.loss(q, k_all[start : start + SIZES[rank]])
    loss.backward()
    results[rank] = (loss.item(), h.predictor([q])[0].detach(), q.grad is not None and bool(q.grad.abs().sum() > 0))
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_of_unequal_sizes():
    q_all, k_all = fixed(sum(SIZES), 8, 3), fixed(sum(SIZES), 8, 4)
    results = mp.get_context('spawn').Manager().dict()
    # spawn, not fork: forking after OpenMP threads started can deadlock the children
    mp.start_processes(_worker, args=(free_port(), q_all, k_all, results), nprocs=2, join=True, start_method='spawn')
    for rank in range(2):
        loss, pred, has_grad = results[rank]
        assert len(pred) == SIZES[rank] and has_grad
        # every process scores its rows against the 7 keys of both, the positive at its offset in them
        expected = written_out_loss(pred.numpy(), k_all.numpy(), sum(SIZES[:rank]), 0.5)
        assert loss == pytest.approx(expected, rel=1e-5)
    # an offset of n * rank (MoCoV3Head's labels) would point rank 1's rows at other keys: another number
    wrong = written_out_loss(results[1][1].numpy(), k_all.numpy(), SIZES[1], 0.5)
    assert results[1][0] != pytest.approx(wrong, rel=1e-3)
