"""Scratch memory that the convolutions of one batch share, forward and backward.

Every sparse convolution gathers its pairs into buffers far larger than its output (one row per
input→output pair, ~10 per voxel), multiplies them and drops them again. Allocating those
buffers afresh in each of the U-ResNet's ~25 convolutions, twice per step, fragments the C heap:
the activations autograd keeps are placed in the holes the freed buffers leave, the next
buffer no longer fits and the heap grows, and glibc keeps those pages after the step. Taking
the buffers from a few slots that live as long as the batch's map cache keeps the peak resident
memory close to the memory actually in use (the README, "Backends").
"""

from __future__ import annotations

import math

import torch


class Workspace:
    """Growable scratch buffers, one per slot, dtype and device.

    A slot's buffer is reused by every call that asks for that slot: a caller must be done
    with what it took from a slot before it (or anyone) takes from the same slot again.
    """

    __slots__ = ("_buffers",)

    def __init__(self) -> None:
        self._buffers: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}

    def take(self, slot: int, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """An uninitialised contiguous tensor of ``shape`` backed by slot ``slot``.

        Parameters
        ----------
        slot : int
            Which buffer; the tensors taken from different slots never overlap.
        shape : tuple of int
            Shape of the tensor.
        like : Tensor
            Gives the dtype and device.

        Returns
        -------
        Tensor
            A view of the slot's buffer, valid until the slot is taken again.
        """
        size = math.prod(shape)
        key = (slot, like.dtype, like.device)
        buffer = self._buffers.get(key)
        if buffer is None or buffer.numel() < size:
            self._buffers.pop(key, None)
            buffer = self._buffers[key] = like.new_empty(size)
        return buffer[:size].view(shape)

    @property
    def nbytes(self) -> int:
        """Bytes held by all slots."""
        return sum(b.numel() * b.element_size() for b in self._buffers.values())
