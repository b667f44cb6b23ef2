"""Batch normalisation followed by its activation, fused into one compiled pass when it can be.

The U-ResNet puts every activation right after a batch norm (``BN → act`` before each
convolution and before the head). On CPU, training mode, the compiled kernels
(``bn_act_forward`` / ``bn_act_backward`` in ``csrc/engine.cpp``) do both in one sweep over the
``(N, C)`` rows for the output (after one for the per-channel statistics) and two for the
gradients, where PyTorch's ``(N, C)`` batch norm reads each channel at the row stride and the
activation adds its own passes. The result equals ``act(batch_norm(x))`` within rounding; the
running statistics are updated as :class:`torch.nn.BatchNorm1d` updates them.

Every other case runs the two layers as they are: evaluation mode (running statistics), a
``SyncBatchNorm`` (statistics across workers), fewer than two rows, the pure-PyTorch engine,
CUDA tensors.
"""

from __future__ import annotations

import torch
from torch import nn

from lartpc_seg.sparse import compiled
from lartpc_seg.sparse.layers import Activation, BatchNorm
from lartpc_seg.sparse.tensor import SparseTensor


class BatchNormActivationFunction(torch.autograd.Function):
    """``y = act((x - mean) / sqrt(var + eps) * weight + bias)`` with the batch's ``mean`` and
    biased ``var``; also returns ``mean`` and the unbiased variance (not differentiable) for
    the running statistics."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps: float, slope: float):
        y, mean, invstd, var = compiled.load().bn_act_forward(x, weight, bias, eps, slope)
        ctx.slope = slope
        ctx.save_for_backward(x, y, weight, mean, invstd)
        ctx.mark_non_differentiable(mean, var)
        return y, mean, var

    @staticmethod
    def backward(ctx, grad_y, _grad_mean, _grad_var):
        x, y, weight, mean, invstd = ctx.saved_tensors
        grad_x, grad_w, grad_b = compiled.load().bn_act_backward(
            grad_y.contiguous(), x, y, weight, mean, invstd, ctx.slope
        )
        return grad_x, grad_w, grad_b, None, None


def _fusable(bn: nn.Module, f: torch.Tensor) -> bool:
    """Whether ``bn`` on ``f`` is the training-mode ``BatchNorm1d`` the fused kernels compute."""
    return (
        type(bn) is nn.BatchNorm1d
        and bn.training
        and bn.affine
        and bn.track_running_stats
        and f.dim() == 2
        and f.shape[0] >= 2
        and f.dtype == bn.weight.dtype
        and compiled.use_compiled(f)
    )


def _update_running_stats(bn: nn.BatchNorm1d, mean: torch.Tensor, var: torch.Tensor) -> None:
    """What ``BatchNorm1d.forward`` does to its buffers in training mode."""
    bn.num_batches_tracked.add_(1)
    factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    bn.running_mean.lerp_(mean, factor)
    bn.running_var.lerp_(var, factor)


def batch_norm_activation(bn: nn.BatchNorm1d, slope: float, f: torch.Tensor) -> torch.Tensor:
    """``act(bn(f))`` by the fused kernels, updating ``bn``'s running statistics.

    Parameters
    ----------
    bn : nn.BatchNorm1d
        In training mode, affine, tracking running statistics.
    slope : float
        Slope of the activation below zero (0: ReLU).
    f : (N, C) float, N ≥ 2
        CPU features of ``bn``'s dtype.
    """
    y, mean, var = BatchNormActivationFunction.apply(
        f.contiguous(), bn.weight, bn.bias, bn.eps, slope
    )
    with torch.no_grad():
        _update_running_stats(bn, mean, var)
    return y


class BatchNormActivation(nn.Sequential):
    """A :class:`BatchNorm` and its :class:`Activation` (children ``0`` and ``1``, the state
    of ``nn.Sequential(bn, act)``), computed in one fused pass when :func:`_fusable`."""

    def __init__(self, norm: BatchNorm, activation: Activation) -> None:
        super().__init__(norm, activation)

    def forward(self, x: SparseTensor) -> SparseTensor:
        norm, activation = self[0], self[1]
        if _fusable(norm.bn, x.features):
            return x.replace(batch_norm_activation(norm.bn, activation.slope, x.features))
        return activation(norm(x))
