"""Sparse convolution: one entry point, :func:`sparse_conv`, and its two implementations.

The compiled kernels (:class:`CompiledConvFunction`, a :class:`NeighbourMap`, CPU) gather,
multiply and sum in one pass over a neighbour table: see :mod:`lartpc_seg.sparse.compiled` and
``csrc/engine.cpp``. They are what a CPU run uses.

The pure-PyTorch path (:class:`SparseConvFunction`, a :class:`KernelMap`) is the reference, and
what CUDA tensors, other dtypes and ``LARTPC_ENGINE=torch`` use: gather → batched GEMM →
grouped sum, with a memory-lean backward.

Forward: one ``index_select`` gathers the input row of every pair into a padded
``(S, width, C_in)`` buffer (one slot per non-empty kernel offset, see :class:`_Padded`), one
``bmm`` multiplies every slot by its offset's ``(C_in, C_out)`` weight, and one sparse CSR ×
dense product sums the pairs of each output row (the CSR matrix has a 1 at ``(out_row, pair)``;
the pairs are grouped by the kernel map, see
:meth:`~lartpc_seg.sparse.kernel_map.KernelMap.grouping`). The CSR product needs no atomics
and, on CPU, is many times faster than ``index_add_``, which sorts its index on every call; a
handful of large ops per layer, not one per kernel offset, keeps the per-op overhead and the
thread synchronisation low.

Backward: the gradient of the grouped sum is a gather of ``grad_out`` rows; one ``bmm`` gives
the weight gradient from the recomputed input gather, another the gradient of every pair, and
a second CSR product (pairs grouped by input row) sums them into ``grad_x``. Only the input
features and the weight are saved between the passes: the pair buffers live inside one pass.
The padding costs ``S · width - P`` extra rows: an offset with ``c`` pairs takes
``ceil(c / width)`` slots, and ``width`` is chosen per map (:func:`_slot_width`) so that the
padding stays near 10 % of the pairs without making the slots so narrow that the per-slot cost
of ``bmm`` dominates. (The offsets of track-like events differ 3-4× in pair count, so one slot
per offset, as wide as the largest, would pad 60-125 %.)

Scratch memory: the pair buffers of a layer hold ~10 rows per voxel, far more than its output.
They are taken from the batch's :class:`~lartpc_seg.sparse.workspace.Workspace` (two slots
reused by every convolution, forward and backward) rather than allocated per call, and a
layer whose buffers would exceed :data:`CHUNK_ELEMENTS` runs over its slots in consecutive
chunks, each summed into the output in place (``addmm_``) by its own columns of the CSR matrix.
Peak memory is then the activations autograd keeps plus ~8 MiB, and the C heap does not
fragment around freed buffers (:mod:`lartpc_seg.sparse.workspace`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from lartpc_seg.sparse import compiled
from lartpc_seg.sparse.kernel_map import KernelMap, group_rows
from lartpc_seg.sparse.neighbours import NeighbourMap
from lartpc_seg.sparse.workspace import Workspace

#: ``bmm`` cost of one slot, in rows of padding: narrower slots are worth it only while the
#: padding they save exceeds this (the U-ResNet step time is flat within 5 % from 16 to 256)
SLOT_COST_ROWS = 64

#: Largest pair buffer (values) of one pass over the slots: a layer whose pairs need more is
#: computed in consecutive chunks of slots, so the scratch memory stays near 2 × 4 MiB (float32)
#: while the grouped sum gains one small matrix product per chunk. (Twice this budget makes the
#: training step 1-2 % faster for ~25 % more peak memory at grid 128.)
CHUNK_ELEMENTS = 1 << 20


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
        matrix = _ones_csr(crow, layout.position[col], (n_rows, layout.in_rows.shape[0]), like)
        kmap.groupings[key] = matrix
    return matrix


def _ones_csr(crow, col, size, like: torch.Tensor) -> torch.Tensor:
    """A CSR matrix of ``size`` with a 1 (``like``'s dtype and device) at each entry."""
    values = torch.ones(col.shape[0], dtype=like.dtype, device=like.device)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta state")
        return torch.sparse_csr_tensor(crow, col, values, size, check_invariants=False)


def _chunks(layout: _Padded, channels: int) -> list[tuple[int, int]]:
    """Consecutive slot ranges whose pair buffers hold at most :data:`CHUNK_ELEMENTS` values."""
    n_slots = len(layout.slots)
    per_chunk = max(1, CHUNK_ELEMENTS // (layout.width * channels))
    return [(a, min(a + per_chunk, n_slots)) for a in range(0, n_slots, per_chunk)]


def _chunk_sums(
    kmap: KernelMap, side: str, n_rows: int, like: torch.Tensor, chunks: list[tuple[int, int]]
) -> list[torch.Tensor]:
    """:func:`_pair_sum` split by columns into one CSR matrix per chunk of slots.

    A chunk's slots hold a contiguous range of the pairs (stored offset by offset), so each
    chunk's matrix groups the rows of its own pairs only.
    """
    if len(chunks) == 1:
        return [_pair_sum(kmap, side, n_rows, like)]
    key = (side, like.dtype, like.device, tuple(chunks))
    matrices = kmap.groupings.get(key)
    if matrices is None:
        layout = _padded(kmap)
        rows = kmap.out_rows if side == "out" else kmap.in_rows
        first_rows = [a * layout.width for a, _ in chunks] + [chunks[-1][1] * layout.width]
        bounds = torch.searchsorted(layout.position, torch.tensor(first_rows).to(rows.device))
        matrices = []
        for (first_slot, stop_slot), start, stop in zip(
            chunks, bounds[:-1].tolist(), bounds[1:].tolist(), strict=True
        ):
            crow, col = group_rows(rows[start:stop], n_rows)
            columns = layout.position[col + start] - first_slot * layout.width
            size = (n_rows, (stop_slot - first_slot) * layout.width)
            matrices.append(_ones_csr(crow, columns, size, like))
        kmap.groupings[key] = matrices
    return matrices


def _scratch(
    workspace: Workspace | None, slot: int, shape: tuple[int, ...], like: torch.Tensor
) -> torch.Tensor:
    if workspace is None:
        return like.new_empty(shape)
    return workspace.take(slot, shape, like)


def _gather(x: torch.Tensor, rows: torch.Tensor, workspace: Workspace | None, slot: int):
    """``x[rows]``, written into ``workspace`` slot ``slot`` when there is one."""
    out = _scratch(workspace, slot, (rows.shape[0], x.shape[1]), x)
    return torch.index_select(x, 0, rows, out=out)


def _bmm(a: torch.Tensor, b: torch.Tensor, workspace: Workspace | None, slot: int):
    """``a @ b`` (batched), written into ``workspace`` slot ``slot`` when there is one."""
    out = _scratch(workspace, slot, (a.shape[0], a.shape[1], b.shape[2]), a)
    return torch.bmm(a, b, out=out)


def _accumulate(total: torch.Tensor | None, matrix: torch.Tensor, rows: torch.Tensor):
    """``total + matrix @ rows``, in place (no temporary of the output's size) when ``total``."""
    if total is None:
        return matrix @ rows
    return total.addmm_(matrix, rows)


class SparseConvFunction(torch.autograd.Function):
    """Differentiable ``out = conv(x, weight)`` along a :class:`KernelMap`."""

    @staticmethod
    def forward(ctx, x, weight, kmap: KernelMap, n_in: int, workspace: Workspace | None):
        ctx.kmap = kmap
        ctx.n_in = n_in
        ctx.workspace = workspace
        ctx.save_for_backward(x, weight)
        if kmap.in_rows.numel():
            layout = _padded(kmap)
            w_slots = weight.index_select(0, layout.slots)
            out = None
            chunks = _chunks(layout, max(x.shape[1], weight.shape[2]))
            sums = _chunk_sums(kmap, "out", kmap.n_out, x, chunks)
            for (a, b), pair_sum in zip(chunks, sums, strict=True):
                rows = layout.in_rows[a * layout.width : b * layout.width]
                gathered = _gather(x, rows, workspace, 0).view(b - a, layout.width, -1)
                products = _bmm(gathered, w_slots[a:b], workspace, 1)
                out = _accumulate(out, pair_sum, products.flatten(0, 1))
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
            workspace: Workspace | None = ctx.workspace
            padded_grad = _scratch(workspace, 2, (grad_out.shape[0] + 1, grad_out.shape[1]), x)
            padded_grad[:-1] = grad_out
            padded_grad[-1] = 0
            w_slots = weight.index_select(0, layout.slots)
            chunks = _chunks(layout, max(x.shape[1], grad_out.shape[1]))
            sums = _chunk_sums(kmap, "in", ctx.n_in, x, chunks) if need_x else [None] * len(chunks)
            for (a, b), pair_sum in zip(chunks, sums, strict=True):
                rows = slice(a * layout.width, b * layout.width)
                shape = (b - a, layout.width, -1)
                grad_pairs = _gather(padded_grad, layout.out_rows[rows], workspace, 0).view(shape)
                if need_w:
                    # the input gather, recomputed (padding rows meet zero gradient rows)
                    gathered = _gather(x, layout.in_rows[rows], workspace, 1).view(shape)
                    grad_w.index_add_(
                        0, layout.slots[a:b], torch.bmm(gathered.transpose(1, 2), grad_pairs)
                    )
                if need_x:
                    pair_grads = _bmm(grad_pairs, w_slots[a:b].transpose(1, 2), workspace, 1)
                    grad_x = _accumulate(grad_x, pair_sum, pair_grads.flatten(0, 1))
        if need_x:
            if grad_x is None:
                grad_x = x.new_zeros(x.shape)
            if kmap.identity is not None:
                grad_x.addmm_(grad_out, weight[kmap.identity].T)
        return grad_x, grad_w, None, None, None


def _unit_stride_rows(t: torch.Tensor) -> torch.Tensor:
    """``t`` as the compiled kernels read it: column stride 1, row stride at least the row.

    Rows at a wider stride (a column slice of a concatenation's gradient) are read in place;
    anything else (an expanded gradient, the arbitrary strides a size-1 dimension may carry)
    is copied.
    """
    if t.numel() == 0 or (t.stride(1) == 1 and t.stride(0) >= t.shape[1]):
        return t
    return t.clone(memory_format=torch.contiguous_format)


class CompiledConvFunction(torch.autograd.Function):
    """Differentiable ``out = conv(x, weight)`` along a :class:`NeighbourMap`, by the compiled
    kernels: the forward gathers along the table, the input gradient along the transposed
    table with the transposed weights, the weight gradient sums over the offsets' pairs."""

    @staticmethod
    def forward(ctx, x, weight, nmap: NeighbourMap):
        x = _unit_stride_rows(x)
        weight = weight.contiguous()
        ctx.nmap = nmap
        ctx.save_for_backward(x, weight)
        return compiled.load().gather_conv(x, *nmap.pairs(), weight, nmap.n_out)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        nmap: NeighbourMap = ctx.nmap
        ext = compiled.load()
        grad_out = _unit_stride_rows(grad_out)
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            weight_t = weight.transpose(1, 2).contiguous()
            starts, pairs, mirror = nmap.pairs_t()
            grad_x = ext.gather_conv(grad_out, starts, pairs, weight_t, nmap.n_in, mirror)
        if ctx.needs_input_grad[1]:
            grad_w = ext.weight_grad(x, grad_out, *nmap.pairs(), nmap.kernel_volume)
        return grad_x, grad_w, None


def sparse_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    kmap: KernelMap | NeighbourMap,
    workspace: Workspace | None = None,
) -> torch.Tensor:
    """Apply a sparse convolution.

    Parameters
    ----------
    x : (N_in, C_in) float
        Input features.
    weight : (K, C_in, C_out) float
        One ``(C_in, C_out)`` matrix per kernel offset, in the order of
        :mod:`lartpc_seg.sparse.kernel_map`.
    kmap : KernelMap or NeighbourMap
        The pairs of input and output rows per offset: a :class:`KernelMap` runs the
        pure-PyTorch path, a :class:`NeighbourMap` the compiled kernels (CPU only).
    workspace : Workspace or None
        Scratch buffers of the pure-PyTorch path shared with the other convolutions of the
        batch (slots 0-2); None allocates fresh ones.

    Returns
    -------
    (N_out, C_out) float
    """
    if weight.shape[0] != kmap.kernel_volume or weight.shape[1] != x.shape[1]:
        raise ValueError(
            f"weight {tuple(weight.shape)} does not fit a kernel of volume {kmap.kernel_volume} "
            f"on {x.shape[1]} input channels"
        )
    if isinstance(kmap, NeighbourMap):
        if x.shape[0] != kmap.n_in:
            raise ValueError(f"{x.shape[0]} input rows for a map of {kmap.n_in}")
        return CompiledConvFunction.apply(x, weight, kmap)
    return SparseConvFunction.apply(x, weight, kmap, x.shape[0], workspace)
