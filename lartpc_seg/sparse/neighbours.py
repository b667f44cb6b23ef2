"""Neighbour tables: the kernel maps of the compiled kernels (:mod:`lartpc_seg.sparse.compiled`).

A :class:`NeighbourMap` holds ``table`` ``(n_out, K)`` int32: ``table[i, k]`` is the input row
that output row ``i`` reads through kernel offset ``k`` (offsets in the order of
:mod:`lartpc_seg.sparse.kernel_map`), or -1. The convolution's forward gathers along ``table``,
its input gradient along the transposed table (``table_t[j, k] = i`` where ``table[i, k] = j``;
in every map here an input row feeds at most one output row per offset), and its weight
gradient runs over the same pairs; the kernels read the pairs of a table listed by block of
output rows and offset (:meth:`NeighbourMap.pairs`, built once per map).

- 3×3×3 submanifold: the centre offset is in the table (row ``i`` reads ``i``); the map is its
  own transpose with the offsets mirrored, ``table_t = table.flip(1)``, whose pair list is the
  table's own read offset by offset backwards: the input gradient runs on the forward's pairs.
- k=2 s=2 down: ``(n_coarse, 8)``, each fine row read once; its transpose ``(n_fine, 8)`` has
  one entry per row; both built in C++ (``down_table``). The transposed (up) convolution swaps
  the two tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

import lartpc_seg.sparse.compiled as compiled
from lartpc_seg.sparse.kernel_map import pack_keys, unpack_keys


@dataclass
class NeighbourMap:
    """A convolution's neighbour table and its transpose (see the module docstring).

    Attributes
    ----------
    table : (n_out, K) int32
    transpose : (n_in, K) int32 or None
        The transposed table; None for a map that is its own transpose with the offsets
        mirrored (the submanifold map, whose input gradient then reads ``table``'s pairs
        backwards).
    cache : dict
        The pair lists of the table and of a stored transpose, built on first use
        (:meth:`pairs`, :meth:`pairs_t`).
    """

    table: torch.Tensor
    transpose: torch.Tensor | None = None
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_out(self) -> int:
        """Output rows."""
        return self.table.shape[0]

    @property
    def n_in(self) -> int:
        """Input rows."""
        return (self.table if self.transpose is None else self.transpose).shape[0]

    @property
    def kernel_volume(self) -> int:
        """Number of kernel offsets ``K``."""
        return self.table.shape[1]

    @property
    def table_t(self) -> torch.Tensor:
        """The transposed table ``(n_in, K)``: ``table_t[j, k] = i`` where ``table[i, k] = j``."""
        return self.table.flip(1) if self.transpose is None else self.transpose

    def num_pairs(self) -> int:
        """Input→output pairs, the centre offset of a submanifold map included."""
        return int((self.table >= 0).sum())

    def pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The table's pairs by block of output rows, offset and row (cached; the layout of
        ``block_pairs`` in ``csrc/engine.cpp``).

        Returns
        -------
        starts : (blocks · K + 1,) int64
        pairs : (P, 2) int32
            ``(input row, output row)``.
        """
        got = self.cache.get("pairs")
        if got is None:
            got = self.cache["pairs"] = tuple(compiled.load().block_pairs(self.table))
        return got

    def pairs_t(self) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """The pairs of the transposed table (the input gradient's), as ``gather_conv`` reads
        them: ``(starts, pairs, mirror)``.

        For a map that is its own transpose with the offsets mirrored (``transpose`` None),
        these are :meth:`pairs` with ``mirror`` True: offset ``k`` of the transpose reads the
        pairs listed for offset ``K - 1 - k`` (``table_t[i, k] = table[i, K - 1 - k]``, row by
        row). Otherwise :meth:`pairs` of ``transpose`` (cached), ``mirror`` False.
        """
        if self.transpose is None:
            return (*self.pairs(), True)
        got = self.cache.get("pairs_t")
        if got is None:
            got = self.cache["pairs_t"] = tuple(compiled.load().block_pairs(self.transpose))
        return (*got, False)

    def transposed(self) -> NeighbourMap:
        """The map with inputs and outputs swapped (the transposed convolution's)."""
        swapped = {}
        if self.transpose is not None:
            swapped = {
                new: self.cache[old]
                for new, old in (("pairs", "pairs_t"), ("pairs_t", "pairs"))
                if old in self.cache
            }
        return NeighbourMap(self.table_t.contiguous(), self.table, swapped)


def submanifold_neighbours(coords: torch.Tensor) -> NeighbourMap:
    """Neighbour table of the 3×3×3 submanifold convolution on ``coords``.

    Parameters
    ----------
    coords : (N, 4) int64
        Active sites without duplicates, any row order (rows sorted by packed key, as the
        built-in backend keeps them, save a sort).

    Returns
    -------
    NeighbourMap
        27 offsets, the centre (13) included.
    """
    ext = compiled.load()
    keys = pack_keys(coords)
    if keys.shape[0] < 2 or bool((keys[1:] > keys[:-1]).all()):
        table = ext.submanifold_table(keys.contiguous())
    else:
        # built on the sorted keys, written in the caller's rows
        sorted_keys, order = torch.sort(keys)
        table = ext.submanifold_table(sorted_keys, order)
    return NeighbourMap(table)


def down_neighbours(coords: torch.Tensor) -> tuple[torch.Tensor, NeighbourMap]:
    """Output coordinates and neighbour table of a k=2 s=2 convolution.

    Parameters
    ----------
    coords : (N, 4) int64
        Input sites at stride s (units of s).

    Returns
    -------
    coarse : (M, 4) int64
        Unique ``(b, x // 2, y // 2, z // 2)``, sorted by packed key (as
        :func:`~lartpc_seg.sparse.kernel_map.down_map`'s).
    NeighbourMap
        ``table`` (M, 8): the fine row at offset ``(x % 2, y % 2, z % 2)`` of each coarse site;
        ``transpose`` (N, 8): the coarse site of each fine row at its offset.
    """
    coarse_keys, table, table_t = compiled.load().down_table(pack_keys(coords).contiguous())
    return unpack_keys(coarse_keys), NeighbourMap(table, table_t)
