"""BatchNorm of sparse features synchronised across data-parallel workers, on any device.

``torch.nn.SyncBatchNorm`` (torch 2.13) refuses CPU tensors ("expected input tensor to be on
GPU"), so gloo training on CPUs cannot use it. :class:`DistributedBatchNorm1d` is the same
computation written with differentiable collectives: the per-channel mean and variance of a
training step are those of the voxels of *all* workers, each worker weighted by its voxel count,
which is what makes a run on N workers equal a run on one worker with the same global batch.
It is used on every device (CPU and CUDA) so that one code path is tested; its state dict is
that of ``nn.BatchNorm1d``, so checkpoints load into an undistributed model.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


def _synchronised() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class _AllReduceSum(torch.autograd.Function):
    """Sum over the workers whose gradient is the sum of the workers' gradients.

    (``torch.distributed.nn.functional.all_reduce`` does the same but is deprecated in 2.13.)
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        return _AllReduceSum.apply(grad)


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Differentiable sum of ``tensor`` over the workers of the default process group."""
    return _AllReduceSum.apply(tensor)


class DistributedBatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` on an ``(N, C)`` matrix whose training statistics span all workers.

    In training mode with an initialised process group of more than one worker, the forward
    all-reduces (differentiably) the voxel count and per-channel sum, then the per-channel sum
    of squared deviations from the global mean (two passes, no cancellation). Workers may hold
    different numbers of rows, including zero or one. Running statistics are updated as
    ``nn.BatchNorm1d`` does (unbiased variance over the global count), identically on every
    worker. In eval mode, or without a process group, it is ``nn.BatchNorm1d``.

    Every worker must call the forward of every instance at every training step (the
    collectives pair up in call order).
    """

    @property
    def spans_workers(self) -> bool:
        """Whether the next forward takes its statistics over all workers (a collective).

        Callers that shortcut small inputs (one row or none) must then still call the forward,
        or the other workers would wait for this one forever.
        """
        return self.training and _synchronised()

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        """Normalise ``input``, shape ``(N, C)``; returns ``(N, C)``."""
        if not self.spans_workers:
            return super().forward(input)
        self._check_input_dim(input)
        x = input
        count = x.new_full((1,), float(x.shape[0]))
        totals = all_reduce_sum(torch.cat([x.sum(dim=0), count]))
        n = totals[-1].clamp(min=1.0)
        mean = totals[:-1] / n
        centred = x - mean
        var = all_reduce_sum((centred * centred).sum(dim=0)) / n
        y = centred * torch.rsqrt(var + self.eps)
        if self.affine:
            y = y * self.weight + self.bias
        if self.track_running_stats:
            self._update_running(mean.detach(), var.detach(), totals[-1].detach())
        return y

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor, n: torch.Tensor) -> None:
        """Exponential (or cumulative) averages as ``nn.BatchNorm1d``; skipped for ≤ 1 voxel."""
        self.num_batches_tracked.add_(1)
        if self.momentum is None:
            factor = 1.0 / float(self.num_batches_tracked)
        else:
            factor = self.momentum
        enough = n > 1
        unbiased = var * n / (n - 1).clamp(min=1.0)
        self.running_mean.copy_(
            torch.where(enough, torch.lerp(self.running_mean, mean, factor), self.running_mean)
        )
        self.running_var.copy_(
            torch.where(enough, torch.lerp(self.running_var, unbiased, factor), self.running_var)
        )


def convert_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``nn.BatchNorm1d`` inside ``module`` by a :class:`DistributedBatchNorm1d`.

    Parameters and running statistics are carried over (the same tensors), so the converted
    model starts where the original stood and has the same state-dict keys.

    Parameters
    ----------
    module : nn.Module
        Converted in place; a bare ``nn.BatchNorm1d`` is returned converted.

    Returns
    -------
    nn.Module
        ``module`` itself, or its replacement when it is a ``BatchNorm1d``.
    """
    if isinstance(module, nn.BatchNorm1d) and not isinstance(module, DistributedBatchNorm1d):
        out = DistributedBatchNorm1d(
            module.num_features,
            eps=module.eps,
            momentum=module.momentum,
            affine=module.affine,
            track_running_stats=module.track_running_stats,
            device=module.running_mean.device if module.running_mean is not None else None,
        )
        if module.affine:
            out.weight = module.weight
            out.bias = module.bias
        if module.track_running_stats:
            out.running_mean = module.running_mean
            out.running_var = module.running_var
            out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
        return out
    for name, child in module.named_children():
        module.add_module(name, convert_batchnorm(child))
    return module
