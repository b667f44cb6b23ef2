"""The fused batch norm + activation equals ``act(BatchNorm1d(x))`` (outputs, gradients,
running statistics), is deterministic at any thread count, and steps aside where it does not
apply."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lartpc_seg.sparse import SparseTensor, compiled
from lartpc_seg.sparse.backend import get_backend
from lartpc_seg.sparse.norm import BatchNormActivationFunction, _fusable

TOLERANCE = {
    torch.float64: {"rtol": 1e-10, "atol": 1e-10},
    torch.float32: {"rtol": 1e-4, "atol": 1e-4},
}


def _twins(channels: int, dtype: torch.dtype, slope: float, momentum: float | None = 0.1):
    """A fused module and a reference ``BatchNorm1d`` with equal state, the reference in float64
    (for float32 it is the exact answer: torch's own float32 batch norm loses more than the
    tolerance to cancellation on offset data)."""
    fused = get_backend("torch").batch_norm_activation(channels, 0.1, 1e-5, slope).to(dtype)
    fused[0].bn.momentum = momentum
    g = torch.Generator().manual_seed(channels)
    with torch.no_grad():
        fused[0].bn.weight.copy_(torch.rand(channels, generator=g, dtype=dtype) * 2 - 0.5)
        fused[0].bn.bias.copy_(torch.randn(channels, generator=g, dtype=dtype))
    reference = nn.BatchNorm1d(channels, momentum=momentum).double()
    reference.load_state_dict(fused[0].bn.state_dict())
    return fused, reference


def _run_both(fused, reference, x, slope, steps=2):
    """Outputs and (x, weight, bias) gradients of both, over ``steps`` training steps."""
    results = {"fused": [], "reference": []}
    for step in range(steps):
        grad_y = torch.linspace(-1, 1, x.numel(), dtype=x.dtype).reshape(x.shape).roll(step)
        xs = (x + step).requires_grad_(True), (x + step).double().requires_grad_(True)
        with compiled.use_engine("compiled"):
            y = fused(SparseTensor(xs[0], torch.zeros(len(x), 4, dtype=torch.int64))).features
        y_ref = F.leaky_relu(reference(xs[1]), slope)
        bn = fused[0].bn
        results["fused"].append((y, *torch.autograd.grad(y, (xs[0], bn.weight, bn.bias), grad_y)))
        results["reference"].append(
            (
                y_ref,
                *torch.autograd.grad(
                    y_ref, (xs[1], reference.weight, reference.bias), grad_y.double()
                ),
            )
        )
    return results


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("slope", [0.0, 0.2], ids=["relu", "leaky"])
@pytest.mark.parametrize("shape", [(2, 1), (37, 3), (500, 16), (300, 17), (700, 80)])
def test_fused_equals_batch_norm_then_activation(compiled_kernels, dtype, slope, shape):
    torch.set_num_threads(2)
    g = torch.Generator().manual_seed(shape[0])
    # an offset mean and uneven scales per channel: the statistics must not cancel. In float32
    # the mean's own rounding (offset / 2**24) is amplified by the gradient of two rows, so
    # the spread stays well above it there
    offset, smallest = (30.0, 0.1) if dtype == torch.float64 else (3.0, 0.5)
    scales = torch.linspace(smallest, 5, shape[1], dtype=dtype)
    x = torch.randn(shape, generator=g, dtype=dtype) * scales + offset
    fused, reference = _twins(shape[1], dtype, slope)
    results = _run_both(fused, reference, x.to(dtype), slope)
    for got, want in zip(results["fused"], results["reference"], strict=True):
        for a, b in zip(got, want, strict=True):
            torch.testing.assert_close(a.double(), b, **TOLERANCE[dtype])
    bn = fused[0].bn
    for name in ("running_mean", "running_var"):
        torch.testing.assert_close(
            getattr(bn, name).double(), getattr(reference, name), **TOLERANCE[dtype]
        )
    assert int(bn.num_batches_tracked) == int(reference.num_batches_tracked) == 2


def test_cumulative_running_statistics_without_momentum(compiled_kernels):
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    fused, reference = _twins(5, torch.float64, 0.0, momentum=None)
    _run_both(fused, reference, x, 0.0, steps=3)
    torch.testing.assert_close(fused[0].bn.running_var, reference.running_var, rtol=0, atol=1e-12)
    torch.testing.assert_close(fused[0].bn.running_mean, reference.running_mean, rtol=0, atol=1e-12)


def test_fused_pass_gives_the_same_bits_at_any_thread_count(compiled_kernels):
    """Statistics are summed per fixed chunk of rows and the chunks added in order."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(5000, 48, generator=g)
    weight, bias = torch.rand(48, generator=g), torch.randn(48, generator=g)
    grad_y = torch.randn(5000, 48, generator=g)
    results = []
    for threads in (1, 2, 1):
        torch.set_num_threads(threads)
        xs, w, b = (t.clone().requires_grad_(True) for t in (x, weight, bias))
        y, mean, var = BatchNormActivationFunction.apply(xs, w, b, 1e-5, 0.1)
        results.append((y, mean, var, *torch.autograd.grad(y, (xs, w, b), grad_y)))
    for other in results[1:]:
        assert all(torch.equal(a, b) for a, b in zip(results[0], other, strict=True))


def test_state_is_that_of_a_sequential_of_the_two_layers():
    """Checkpoints of the U-ResNet keep their keys: ``<i>.bn.*`` of the batch norm."""
    fused = get_backend("torch").batch_norm_activation(8, 0.1, 1e-5, 0.0)
    plain = nn.Sequential(fused[0], fused[1])
    assert list(fused.state_dict()) == list(plain.state_dict())
    assert list(fused.state_dict()) == [
        "0.bn.weight",
        "0.bn.bias",
        "0.bn.running_mean",
        "0.bn.running_var",
        "0.bn.num_batches_tracked",
    ]


@pytest.mark.parametrize(
    "case", ["eval", "one_row", "sync", "torch_engine", "no_affine", "other_dtype"]
)
def test_cases_the_fused_kernels_do_not_cover_run_the_two_layers(compiled_kernels, case):
    """Evaluation mode, a single row, a statistics-sharing subclass, the pure engine and
    other shapes of batch norm are not fused, and give what the two layers give."""
    fused, reference = _twins(4, torch.float32, 0.0)
    bn = fused[0].bn
    x = torch.randn(1 if case == "one_row" else 20, 4, generator=torch.Generator().manual_seed(2))
    engine = "torch" if case == "torch_engine" else "compiled"
    if case == "eval":
        fused.eval()
        reference.eval()
    if case == "sync":
        bn.__class__ = type("SharedStatistics", (nn.BatchNorm1d,), {})
    if case == "no_affine":
        bn.affine = False
    if case == "other_dtype":
        x = x.double()
    with compiled.use_engine(engine):
        assert not _fusable(bn, x)
    if case in ("one_row", "no_affine", "other_dtype"):
        return
    with compiled.use_engine(engine):
        y = fused(SparseTensor(x, torch.zeros(len(x), 4, dtype=torch.int64))).features
    torch.testing.assert_close(y.double(), torch.relu(reference(x.double())))
