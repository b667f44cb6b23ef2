"""Sparse convolution as gather → batched GEMM → grouped sum, with a memory-lean backward.

Forward: one ``index_select`` gathers the input row of every pair into a padded
``(S, width, C_in)`` buffer (one slot per non-empty kernel offset, see :class:`_Padded`), one
``bmm`` multiplies every slot by its offset's ``(C_in, C_out)`` weight, and one sparse CSR ×
dense product sums the pairs of each output row (the CSR matrix has a 1 at ``(out_row, pair)``;
the pairs are grouped by the kernel map, see
:meth:`~lartpc_seg.sparse.kernel_map.KernelMap.grouping`). On CPU the CSR product is many times
faster than ``index_add_`` (which sorts its index on every call and, at 2 threads, collapses
under load) and needs no atomics; a handful of large ops per layer instead of ~30 per-offset
ones also keeps the per-op overhead and thread synchronisation low.

Backward: the gradient of the grouped sum is a gather of ``grad_out`` rows; one ``bmm`` gives
the weight gradient from the recomputed input gather, another the gradient of every pair, and
a second CSR product (pairs grouped by input row) sums them into ``grad_x``. Only the input
features and the weight are saved between the passes: the pair buffers live inside one pass.
The padding costs ``S · width - P`` extra rows: an offset with ``c`` pairs takes
``ceil(c / width)`` slots, and ``width`` is chosen per map (:func:`_slot_width`) so that the
padding stays near 10 % of the pairs without making the slots so narrow that the per-slot cost
of ``bmm`` dominates (offsets of track-like events differ up to 3-4× in pair count; one slot
per offset, as wide as the largest, padded 60-125 %).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from lartpc_seg.sparse.kernel_map import KernelMap

#: ``bmm`` cost of one slot, in rows of padding: narrower slots are worth it only while the
#: padding they save exceeds this (16 to 256 gave the same U-ResNet step time within 5 %)
SLOT_COST_ROWS = 64


@dataclass(frozen=True)
class _Padded:
    """The pairs laid out as ``S`` equal slots of ``width`` rows, each slot one offset's.

    Every slot is then one batch of a single ``bmm``; an offset with ``c`` pairs fills
    ``ceil(c / width)`` consecutive slots. Rows past an offset's pair count are padding: they
    gather input row 0 and output row ``n_out`` (a zero row appended to the output gradient),
    and no CSR sum reads them.
    """

    slots: torch.Tensor  # (S,) int64 offset index k of each slot
    width: int
    in_rows: torch.Tensor  # (S * width,)
    out_rows: torch.Tensor  # (S * width,)
    position: torch.Tensor  # (P,) padded position of each stored pair


def _slot_width(counts: list[int]) -> int:
    """The slot width minimising padded rows plus :data:`SLOT_COST_ROWS` per slot."""
    largest = max(counts)

    def cost(width: int) -> int:
        slots = sum(-(-c // width) for c in counts)
        return slots * (width + SLOT_COST_ROWS)

    return min((-(-largest // n) for n in range(1, 17)), key=cost)


def _padded(kmap: KernelMap) -> _Padded:
    layout = kmap.groupings.get("padded")
    if layout is None:
        used = [c for c in kmap.counts if c]
        width = _slot_width(used)
        device = kmap.in_rows.device
        counts = torch.tensor(kmap.counts, dtype=torch.int64)
        chunks = -(-counts // width)
        slots = torch.repeat_interleave(torch.arange(len(counts)), chunks)
        # pair j of offset k (pairs stored offset by offset) goes to row j - start_k of the
        # offset's first slot
        first_slot = torch.cumsum(chunks, 0) - chunks
        starts = torch.cumsum(counts, 0) - counts
        shift = first_slot * width - starts
        offset_of_pair = torch.repeat_interleave(torch.arange(len(counts)), counts)
        position = torch.arange(kmap.in_rows.shape[0]) + shift[offset_of_pair]
        position = position.to(device)
        in_rows = kmap.in_rows.new_zeros(len(slots) * width)
        in_rows[position] = kmap.in_rows
        out_rows = kmap.in_rows.new_full((len(slots) * width,), kmap.n_out)
        out_rows[position] = kmap.out_rows
        layout = _Padded(slots.to(device), width, in_rows, out_rows, position)
        kmap.groupings["padded"] = layout
    return layout


def _pair_sum(kmap: KernelMap, side: str, n_rows: int, like: torch.Tensor) -> torch.Tensor:
    """The ``(n_rows, S * width)`` CSR matrix summing the padded pairs per ``side`` row."""
    key = (side, like.dtype, like.device)
    matrix = kmap.groupings.get(key)
    if matrix is None:
        layout = _padded(kmap)
        crow, col = kmap.grouping(side, n_rows)
        values = torch.ones(col.shape[0], dtype=like.dtype, device=like.device)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta state")
            matrix = torch.sparse_csr_tensor(
                crow,
                layout.position[col],
                values,
                (n_rows, layout.in_rows.shape[0]),
                check_invariants=False,
            )
        kmap.groupings[key] = matrix
    return matrix


class SparseConvFunction(torch.autograd.Function):
    """Differentiable ``out = conv(x, weight)`` along a :class:`KernelMap`."""

    @staticmethod
    def forward(ctx, x, weight, kmap: KernelMap, n_in: int):
        ctx.kmap = kmap
        ctx.n_in = n_in
        ctx.save_for_backward(x, weight)
        if kmap.in_rows.numel():
            layout = _padded(kmap)
            gathered = x.index_select(0, layout.in_rows).view(len(layout.slots), layout.width, -1)
            products = torch.bmm(gathered, weight.index_select(0, layout.slots))
            del gathered
            out = _pair_sum(kmap, "out", kmap.n_out, x) @ products.view(-1, weight.shape[2])
            if kmap.identity is not None:
                out.addmm_(x, weight[kmap.identity])
            return out
        if kmap.identity is not None:
            return x @ weight[kmap.identity]
        return x.new_zeros((kmap.n_out, weight.shape[2]))

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        kmap: KernelMap = ctx.kmap
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_out = grad_out.contiguous()
        grad_x = grad_w = None
        if need_w:
            grad_w = torch.zeros_like(weight)
            if kmap.identity is not None:
                torch.mm(x.T, grad_out, out=grad_w[kmap.identity])
        if kmap.in_rows.numel() and (need_x or need_w):
            layout = _padded(kmap)
            shape = (len(layout.slots), layout.width, -1)
            padded_grad = torch.cat([grad_out, grad_out.new_zeros((1, grad_out.shape[1]))])
            grad_pairs = padded_grad.index_select(0, layout.out_rows).view(shape)
            del padded_grad
            w_slots = weight.index_select(0, layout.slots)
            if need_w:
                # the input gather, recomputed (padding rows meet zero gradient rows)
                gathered = x.index_select(0, layout.in_rows).view(shape)
                grad_w.index_add_(0, layout.slots, torch.bmm(gathered.transpose(1, 2), grad_pairs))
                del gathered
            if need_x:
                pair_grads = torch.bmm(grad_pairs, w_slots.transpose(1, 2))
                del grad_pairs
                grad_x = _pair_sum(kmap, "in", ctx.n_in, x) @ pair_grads.view(-1, x.shape[1])
        if need_x:
            if grad_x is None:
                grad_x = x.new_zeros(x.shape)
            if kmap.identity is not None:
                grad_x.addmm_(grad_out, weight[kmap.identity].T)
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
