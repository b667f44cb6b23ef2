"""Synchronised BatchNorm and the event split, on two CPU processes talking through gloo.

The workers are forked (the test module is not importable by name under importlib mode) and
meet through a file store; each writes its results to a file that the test compares with the
same computation done by one process.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from torch import nn

from lartpc_seg.sparse.layers import batch_norm_rows
from lartpc_seg.train.data import batch_indices
from lartpc_seg.train.sync_batchnorm import DistributedBatchNorm1d, convert_batchnorm

WORLD = 2
CHANNELS = 3


def _inputs(rows: tuple[int, ...]) -> list[torch.Tensor]:
    """One (rows[r], C) matrix per worker, with a large offset (a test of the two-pass var)."""
    gen = torch.Generator().manual_seed(5)
    return [100.0 + torch.randn(n, CHANNELS, generator=gen, dtype=torch.float64) for n in rows]


def _reference_bn() -> nn.BatchNorm1d:
    bn = nn.BatchNorm1d(CHANNELS, momentum=0.3).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 2.0, -0.5]))
        bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    return bn


def _loss_weights(n: int) -> torch.Tensor:
    return torch.linspace(-1.0, 2.0, n * CHANNELS, dtype=torch.float64).reshape(n, CHANNELS)


def _bn_worker(rank: int, store: str, rows: tuple[int, ...], sparse: bool, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        bn = convert_batchnorm(_reference_bn())
        x = _inputs(rows)[rank].requires_grad_()
        for _ in range(2):  # two steps: running statistics move twice
            # Through the sparse engine's BatchNorm, whose one-row shortcut must not skip the
            # collective (the other worker would wait forever), or the module directly.
            y = batch_norm_rows(bn, x) if sparse else bn(x)
        (y * _loss_weights(len(x))).sum().backward()
        torch.save(
            {
                "y": y.detach(),
                "x_grad": x.grad,
                "w_grad": bn.weight.grad,
                "b_grad": bn.bias.grad,
                "running_mean": bn.running_mean,
                "running_var": bn.running_var,
            },
            f"{out}.{rank}",
        )
    finally:
        dist.destroy_process_group()


def _split_worker(rank: int, store: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        seen = torch.from_numpy(
            np.concatenate(
                [batch_indices(i, 24, 4, seed=7, rank=rank, world=WORLD) for i in range(12)]
            )
        )
        gathered = [torch.empty_like(seen) for _ in range(WORLD)]
        dist.all_gather(gathered, seen)
        torch.save(gathered, f"{out}.{rank}")
    finally:
        dist.destroy_process_group()


def _spawn(target, tmp_path: Path, *args) -> list:
    ctx = multiprocessing.get_context("fork")
    store, out = tmp_path / "store", tmp_path / "out"
    procs = [
        ctx.Process(target=target, args=(r, str(store), *args, str(out))) for r in range(WORLD)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    return [torch.load(f"{out}.{r}", weights_only=True) for r in range(WORLD)]


@pytest.mark.parametrize("sparse", [False, True], ids=["module", "sparse-engine"])
@pytest.mark.parametrize("rows", [(7, 3), (1, 6), (0, 5)], ids=["7+3", "1+6", "0+5"])
def test_two_workers_normalise_like_one_batch(tmp_path, rows, sparse):
    """Unequal voxel counts (even one or none on a worker) give the one-process BatchNorm1d."""
    got = _spawn(_bn_worker, tmp_path, rows, sparse)
    bn = _reference_bn()
    x = torch.cat(_inputs(rows)).requires_grad_()
    for _ in range(2):
        y = bn(x)
    (y * torch.cat([_loss_weights(n) for n in rows])).sum().backward()
    tol = {"rtol": 0, "atol": 1e-9}
    torch.testing.assert_close(torch.cat([g["y"] for g in got]), y.detach(), **tol)
    torch.testing.assert_close(torch.cat([g["x_grad"] for g in got]), x.grad, **tol)
    # DDP sums (then averages) the parameter gradients of the workers.
    torch.testing.assert_close(sum(g["w_grad"] for g in got), bn.weight.grad, **tol)
    torch.testing.assert_close(sum(g["b_grad"] for g in got), bn.bias.grad, **tol)
    for g in got:
        torch.testing.assert_close(g["running_mean"], bn.running_mean, **tol)
        torch.testing.assert_close(g["running_var"], bn.running_var, **tol)


def test_each_worker_sees_disjoint_events(tmp_path):
    """Over two epochs (24 events, global batch 4) the workers' events never overlap."""
    got = _spawn(_split_worker, tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(got[0], got[1], strict=True))
    per_rank = [g.numpy() for g in got[0]]
    for epoch in range(2):
        step = slice(epoch * 12, (epoch + 1) * 12)  # 6 steps × 2 events of each worker
        a, b = per_rank[0][step], per_rank[1][step]
        assert not set(a) & set(b)
        assert sorted(np.concatenate([a, b])) == list(range(24))


def test_conversion_keeps_parameters_and_state_keys():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Sequential(nn.BatchNorm1d(3)))
    weight = model[1].weight
    keys = list(model.state_dict())
    convert_batchnorm(model)
    assert isinstance(model[1], DistributedBatchNorm1d)
    assert isinstance(model[2][0], DistributedBatchNorm1d)
    assert model[1].weight is weight
    assert list(model.state_dict()) == keys


def test_without_process_group_it_is_batchnorm1d():
    x = torch.randn(9, CHANNELS, dtype=torch.float64)
    ref, bn = _reference_bn(), convert_batchnorm(_reference_bn())
    torch.testing.assert_close(bn(x), ref(x), rtol=0, atol=0)
    torch.testing.assert_close(bn.running_var, ref.running_var, rtol=0, atol=0)
