"""Sparse convolution as gather → GEMM → scatter, with a memory-lean backward.

The autograd function saves only the input features and the weight; the gathered rows of each
kernel offset are recomputed in the backward pass instead of being kept alive between passes.
"""

from __future__ import annotations

import torch

from lartpc_seg.sparse.kernel_map import KernelMap


def _segments(kmap: KernelMap):
    start = 0
    for k, count in enumerate(kmap.counts):
        if count:
            yield (
                k,
                kmap.in_rows[start : start + count],
                kmap.out_rows[start : start + count],
            )
        start += count


def _scatter(out: torch.Tensor, rows: torch.Tensor, values: torch.Tensor, unique: bool) -> None:
    if unique:
        out.index_copy_(0, rows, values)
    else:
        out.index_add_(0, rows, values)


class SparseConvFunction(torch.autograd.Function):
    """Differentiable ``out = conv(x, weight)`` along a :class:`KernelMap`."""

    @staticmethod
    def forward(ctx, x, weight, kmap: KernelMap, n_in: int):
        ctx.kmap = kmap
        ctx.n_in = n_in
        ctx.save_for_backward(x, weight)
        out_unique = kmap.out_unique
        if kmap.identity is not None:
            out = x @ weight[kmap.identity]
        else:
            out = x.new_zeros((kmap.n_out, weight.shape[2]))
        for k, in_rows, out_rows in _segments(kmap):
            _scatter(out, out_rows, x.index_select(0, in_rows) @ weight[k], out_unique)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        kmap: KernelMap = ctx.kmap
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_out = grad_out.contiguous()
        grad_x = grad_w = None
        if need_x:
            if kmap.identity is not None:
                grad_x = grad_out @ weight[kmap.identity].T
            else:
                grad_x = x.new_zeros(x.shape)
        if need_w:
            grad_w = torch.zeros_like(weight)
            if kmap.identity is not None:
                torch.mm(x.T, grad_out, out=grad_w[kmap.identity])
        in_unique = kmap.identity is None and kmap.num_pairs() == ctx.n_in
        for k, in_rows, out_rows in _segments(kmap):
            g = grad_out.index_select(0, out_rows)
            if need_w:
                torch.mm(x.index_select(0, in_rows).T, g, out=grad_w[k])
            if need_x:
                _scatter(grad_x, in_rows, g @ weight[k].T, in_unique)
        return grad_x, grad_w, None, None


def sparse_conv(x: torch.Tensor, weight: torch.Tensor, kmap: KernelMap) -> torch.Tensor:
    """Apply a sparse convolution.

    Parameters
    ----------
    x : (N_in, C_in) float
        Input features.
    weight : (K, C_in, C_out) float
        One ``(C_in, C_out)`` matrix per kernel offset, in the order of
        :mod:`lartpc_seg.sparse.kernel_map`.
    kmap : KernelMap
        Pairs of input and output rows per offset.

    Returns
    -------
    (N_out, C_out) float
    """
    if weight.shape[0] != kmap.kernel_volume or weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight {tuple(weight.shape)} does not fit a kernel of volume {kmap.kernel_volume} "
            f"on {x.shape[1]} input channels"
        )
    return SparseConvFunction.apply(x, weight, kmap, x.shape[0])
