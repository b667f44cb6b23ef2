"""Neighbour tables: the kernel maps of the compiled kernels (:mod:`lartpc_seg.sparse.compiled`).

A :class:`NeighbourMap` holds ``table`` ``(n_out, K)`` int32: ``table[i, k]`` is the input row
that output row ``i`` reads through kernel offset ``k`` (offsets in the order of
:mod:`lartpc_seg.sparse.kernel_map`), or -1. The convolution's forward gathers along ``table``,
its input gradient along the transposed table (``table_t[j, k] = i`` where ``table[i, k] = j``;
in every map here an input row feeds at most one output row per offset), and its weight
gradient runs over the pairs grouped by offset (:meth:`NeighbourMap.pairs`).

- 3×3×3 submanifold: the centre offset is in the table (row ``i`` reads ``i``); the map is its
  own transpose with the offsets mirrored, ``table_t = table.flip(1)``.
- k=2 s=2 down: ``(n_coarse, 8)``, each fine row read once; its transpose ``(n_fine, 8)`` has
  one entry per row. The transposed (up) convolution swaps the two tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from lartpc_seg.sparse import compiled
from lartpc_seg.sparse.kernel_map import pack_keys, parent_sites


@dataclass
class NeighbourMap:
    """A convolution's neighbour table and its transpose (see the module docstring).

    Attributes
    ----------
    table : (n_out, K) int32
    table_t : (n_in, K) int32
        The transposed table.
    cache : dict
        The pairs grouped by offset, built on the first :meth:`pairs`.
    """

    table: torch.Tensor
    table_t: torch.Tensor
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_out(self) -> int:
        """Output rows."""
        return self.table.shape[0]

    @property
    def n_in(self) -> int:
        """Input rows."""
        return self.table_t.shape[0]

    @property
    def kernel_volume(self) -> int:
        """Number of kernel offsets ``K``."""
        return self.table.shape[1]

    def num_pairs(self) -> int:
        """Input→output pairs, the centre offset of a submanifold map included."""
        return int((self.table >= 0).sum())

    def pairs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The pairs grouped by offset (cached).

        Returns
        -------
        starts : (K + 1,) int64
            Offset ``k`` owns the pairs ``starts[k]:starts[k + 1]``.
        pairs : (P, 2) int32
            ``(input row, output row)``; within an offset by increasing output row.
        """
        got = self.cache.get("pairs")
        if got is None:
            got = self.cache["pairs"] = tuple(compiled.load().pair_lists(self.table))
        return got

    def transposed(self) -> NeighbourMap:
        """The map with inputs and outputs swapped (the transposed convolution's)."""
        return NeighbourMap(self.table_t, self.table)


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
        sorted_keys, order = torch.sort(keys)
        by_key = ext.submanifold_table(sorted_keys)
        # back to the caller's rows: row order[a] reads order[b] where the sorted row a reads b
        found = by_key >= 0
        rows = torch.where(found, order[by_key.clamp(min=0).long()], -1).to(torch.int32)
        table = torch.empty_like(rows)
        table[order] = rows
    return NeighbourMap(table, table.flip(1).contiguous())


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
        ``table`` (M, 8): the fine row at offset ``(x % 2, y % 2, z % 2)`` of each coarse site.
    """
    coarse, parent, k = parent_sites(coords)
    n = coords.shape[0]
    rows = torch.arange(n, dtype=torch.int32, device=coords.device)
    table = torch.full((coarse.shape[0], 8), -1, dtype=torch.int32, device=coords.device)
    table[parent, k] = rows
    table_t = torch.full((n, 8), -1, dtype=torch.int32, device=coords.device)
    table_t[rows.long(), k] = parent.to(torch.int32)
    return coarse, NeighbourMap(table, table_t)
