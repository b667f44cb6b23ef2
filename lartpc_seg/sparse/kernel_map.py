"""Kernel maps: which input row feeds which output row through which kernel offset.

Built with torch only: each coordinate ``(b, x, y, z)`` is packed into one int64 key, the keys
are sorted once, and neighbours are found with :func:`torch.searchsorted`.

Kernel offset order (the ``K`` axis of every weight, shape ``(K, C_in, C_out)``) is the
row-major order of the dense kernel: offset index ``k = (kx * n + ky) * n + kz`` with ``n`` the
kernel size, so ``weight[k] == conv3d_weight[:, :, kx, ky, kz].T``. For the 3×3×3 submanifold
convolution offset ``k`` reads the input at ``(x + kx - 1, y + ky - 1, z + kz - 1)``; for the
k=2 s=2 down convolution output ``o`` reads input ``2 o + (kx, ky, kz)``; the transposed
convolution writes output ``2 o + (kx, ky, kz)`` from input ``o``, with
``weight[k] == conv_transpose3d_weight[:, :, kx, ky, kz]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

#: bits per spatial coordinate in a packed key; coordinates must lie in [0, 2**BITS - 2)
BITS = 16
_SHIFT_X = 2 * BITS
_SHIFT_Y = BITS
MAX_COORD = (1 << BITS) - 3
MAX_BATCH = (1 << (63 - 3 * BITS)) - 1


#: a grouping of the pairs by row: CSR ``(crow (n + 1,), col (P,))`` int64, row ``r`` owns the
#: pair positions ``col[crow[r]:crow[r + 1]]``
Grouping = tuple[torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class KernelMap:
    """Input→output row pairs of a convolution, grouped by kernel offset.

    Attributes
    ----------
    in_rows, out_rows : (P,) int64
        Pair ``p`` adds ``features[in_rows[p]] @ weight[k]`` to output row ``out_rows[p]``,
        where ``k`` is the offset group of ``p``.
    counts : tuple[int, ...]
        Pairs per offset, length ``K``; pairs are stored offset by offset.
    n_out : int
        Number of output rows.
    identity : int or None
        An offset whose map is the identity (output row i reads input row i; its pairs are
        not stored, ``counts[identity] == 0``), or None. The submanifold centre offset.
    groupings : dict
        Cache of the pairs grouped by output row (``"out"``) and by input row (``"in"``),
        see :meth:`grouping`, and of the sparse matrices built from them.
    """

    in_rows: torch.Tensor
    out_rows: torch.Tensor
    counts: tuple[int, ...]
    n_out: int
    identity: int | None = None
    groupings: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def kernel_volume(self) -> int:
        """Number of kernel offsets ``K``."""
        return len(self.counts)

    def transposed(self, n_out: int) -> KernelMap:
        """The same pairs with input and output swapped (``n_out`` = rows of the new output)."""
        swapped = {
            new: self.groupings[old]
            for new, old in (("out", "in"), ("in", "out"))
            if old in self.groupings
        }
        return KernelMap(self.out_rows, self.in_rows, self.counts, n_out, self.identity, swapped)

    def num_pairs(self) -> int:
        """Input→output pairs including the identity offset."""
        return sum(self.counts) + (self.n_out if self.identity is not None else 0)

    def grouping(self, side: str, n_rows: int) -> Grouping:
        """The stored pairs grouped by their output (``side="out"``) or input (``"in"``) row.

        Parameters
        ----------
        side : {"out", "in"}
        n_rows : int
            Rows on that side (``n_out``, or the number of input rows).

        Returns
        -------
        crow : (n_rows + 1,) int64
        col : (P,) int64
            Row ``r`` owns the pair positions ``col[crow[r]:crow[r + 1]]``, increasing.
        """
        cached = self.groupings.get(side)
        if cached is None:
            rows = self.out_rows if side == "out" else self.in_rows
            cached = self.groupings[side] = group_rows(rows, n_rows)
        return cached


def group_rows(rows: torch.Tensor, n: int) -> Grouping:
    """Group the positions ``0 .. P - 1`` by their row ``rows[p]`` (CSR, see :data:`Grouping`).

    Parameters
    ----------
    rows : (P,) int64
        Row of each position, in ``[0, n)``.
    n : int
        Number of rows.

    Returns
    -------
    Grouping
        ``crow`` (n + 1,) and ``col`` (P,): row ``r`` owns ``col[crow[r]:crow[r + 1]]``,
        increasing.
    """
    crow = rows.new_zeros(n + 1)
    torch.cumsum(torch.bincount(rows, minlength=n), 0, out=crow[1:])
    # row indices fit in int32, whose stable sort takes half the time of int64's
    return crow, torch.argsort(rows.to(torch.int32), stable=True)


def pack_keys(coords: torch.Tensor) -> torch.Tensor:
    """Pack ``(N, 4)`` int64 coordinates ``(b, x, y, z)`` into ``(N,)`` int64 keys.

    Each spatial coordinate is stored plus one so that neighbours at offset -1 stay
    non-negative; a neighbour key is the key plus a packed offset (:func:`pack_offsets`).
    """
    c = coords.to(torch.int64)
    return (
        (c[:, 0] << (3 * BITS))
        | ((c[:, 1] + 1) << _SHIFT_X)
        | ((c[:, 2] + 1) << _SHIFT_Y)
        | (c[:, 3] + 1)
    )


def pack_offsets(offsets: torch.Tensor) -> torch.Tensor:
    """Packed key deltas of ``(K, 3)`` int64 spatial offsets."""
    return (offsets[:, 0] << _SHIFT_X) + (offsets[:, 1] << _SHIFT_Y) + offsets[:, 2]


def kernel_offsets(size: int, centre: int, device: torch.device | None = None) -> torch.Tensor:
    """``(size**3, 3)`` int64 offsets in the module's order, ``(kx, ky, kz) - centre``."""
    r = torch.arange(size, device=device, dtype=torch.int64)
    grid = torch.stack(torch.meshgrid(r, r, r, indexing="ij"), dim=-1).reshape(-1, 3)
    return grid - centre


def check_coords(coords: torch.Tensor) -> torch.Tensor | None:
    """Validate coordinates; return the row order that sorts them by packed key.

    Parameters
    ----------
    coords : (N, 4) int64

    Returns
    -------
    (N,) int64 or None
        The permutation sorting the rows by packed key (batch, then x, y, z), or None when
        they are sorted already.

    Raises
    ------
    ValueError
        Unless coordinates are (N, 4) int64, in range and without duplicates.
    """
    if coords.ndim != 2 or coords.shape[1] != 4 or coords.dtype != torch.int64:
        raise ValueError(f"coords must be (N, 4) int64, got {tuple(coords.shape)} {coords.dtype}")
    if coords.numel() == 0:
        return None
    lo = coords.min(dim=0).values
    hi = coords.max(dim=0).values
    if bool((lo < 0).any()) or int(hi[1:].max()) > MAX_COORD or int(hi[0]) > MAX_BATCH:
        raise ValueError(
            f"coords out of range: spatial coordinates must lie in [0, {MAX_COORD}] and batch "
            f"indices in [0, {MAX_BATCH}], got min {lo.tolist()} max {hi.tolist()}"
        )
    keys = pack_keys(coords)
    if bool((keys[1:] > keys[:-1]).all()):
        return None
    keys, order = torch.sort(keys)
    if bool((keys[1:] == keys[:-1]).any()):
        raise ValueError("coords contain duplicate voxels; merge them before building the tensor")
    return order


#: the (dx, dy) columns of the 12 offsets before the centre that differ from it in x or y, in
#: offset order; each column holds 3 offsets (dz = -1, 0, 1)
_COLUMNS = ((-1, -1), (-1, 0), (-1, 1), (0, -1))


def submanifold_map(coords: torch.Tensor) -> KernelMap:
    """Kernel map of a 3×3×3 submanifold convolution (output sites = input sites).

    Only the 13 offsets before the centre are searched: offset ``k`` and its mirror ``26 - k``
    have the same pairs with input and output swapped. Keys are sorted by ``(b, x, y, z)``, so
    the three offsets of one ``(dx, dy)`` column are consecutive keys: one
    :func:`torch.searchsorted` for ``dz = -1`` finds all three (4 searches, not 13), and the
    offset ``(0, 0, -1)`` is the previous key. The groupings of the pairs by row are built on
    first use (:meth:`KernelMap.grouping`).

    Parameters
    ----------
    coords : (N, 4) int64
        Active coordinates, without duplicates; any row order (rows sorted by packed key, as
        the built-in backend keeps them, save one permutation).

    Returns
    -------
    KernelMap
        27 offsets; the centre offset (13) is the identity and stores no pairs. Pairs of each
        offset are sorted by the packed key of their output site.
    """
    n = coords.shape[0]
    device = coords.device
    centre = 13
    if n == 0:
        empty = torch.zeros(0, dtype=torch.int64, device=device)
        return KernelMap(empty, empty, (0,) * 27, 0, identity=centre)
    keys = pack_keys(coords)
    if bool((keys[1:] > keys[:-1]).all()):
        sorted_keys, order = keys, None
    else:
        sorted_keys, order = torch.sort(keys)
    # the keys and a sentinel at position n that no query matches (every query is >= 0)
    table = torch.cat([sorted_keys, sorted_keys.new_full((1,), -1)])
    # nbr[k, j]: sorted position of the neighbour of site j at offset k < 13, where found
    nbr = torch.empty((centre, n), dtype=torch.int64, device=device)
    found = torch.empty((centre, n), dtype=torch.bool, device=device)
    column_nbr = nbr[:12].view(4, 3, n)
    column_found = found[:12].view(4, 3, n)
    columns = torch.tensor([(dx, dy, -1) for dx, dy in _COLUMNS], device=device)
    query = sorted_keys.unsqueeze(0) + pack_offsets(columns).unsqueeze(1)
    at = torch.searchsorted(sorted_keys, query)
    for dz in range(3):
        column_nbr[:, dz] = at
        torch.eq(table[at], query + dz, out=column_found[:, dz])
        if dz < 2:
            at = at + column_found[:, dz]
    torch.arange(-1, n - 1, out=nbr[12])  # the previous key; site 0 reads the sentinel (-1)
    torch.eq(table[nbr[12]], sorted_keys - 1, out=found[12])
    # pair (k, j) of a lower offset: site j reads nbr[k, j]; its mirror 26 - k: site nbr[k, j]
    # reads j, and as j grows so does nbr[k, j], so the mirror pairs keep the output order
    hit = torch.nonzero(found.view(-1)).view(-1)
    offset = torch.div(hit, n, rounding_mode="floor")
    site = hit - offset * n
    neighbour = nbr.view(-1)[hit]
    counts13 = torch.bincount(offset, minlength=centre)
    h = hit.shape[0]
    starts = torch.cumsum(counts13, 0) - counts13
    # offsets 14 .. 26 mirror k = 12 .. 0: offset k's block starts after the h lower pairs and
    # the blocks of k' > k
    mirror = (2 * h - 2 * starts - counts13)[offset] + torch.arange(h, device=device)
    in_rows = torch.empty(2 * h, dtype=torch.int64, device=device)
    out_rows = torch.empty(2 * h, dtype=torch.int64, device=device)
    in_rows[:h], out_rows[:h] = neighbour, site
    in_rows[mirror], out_rows[mirror] = site, neighbour
    if order is not None:
        in_rows, out_rows = order[in_rows], order[out_rows]
    lower = counts13.tolist()
    counts = (*lower, 0, *lower[::-1])
    return KernelMap(in_rows, out_rows, counts, n, identity=centre)


def parent_sites(coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The sites one k=2 s=2 convolution maps ``coords`` onto.

    Parameters
    ----------
    coords : (N, 4) int64
        Input coordinates at stride s (units of s).

    Returns
    -------
    coarse : (M, 4) int64
        Unique ``(b, x // 2, y // 2, z // 2)``, sorted by packed key; units of 2 s.
    parent : (N,) int64
        The coarse row of each input row.
    offset : (N,) int64
        The kernel offset ``(x % 2, y % 2, z % 2)`` (row-major) through which it is read.
    """
    parent = coords.clone()
    parent[:, 1:] = torch.div(coords[:, 1:], 2, rounding_mode="floor")
    keys, rows = torch.unique(pack_keys(parent), return_inverse=True)
    k = (coords[:, 1] % 2) * 4 + (coords[:, 2] % 2) * 2 + (coords[:, 3] % 2)
    return unpack_keys(keys), rows, k.to(torch.int64)


def down_map(coords: torch.Tensor) -> tuple[torch.Tensor, KernelMap]:
    """Output coordinates and kernel map of a k=2 s=2 convolution.

    Parameters
    ----------
    coords : (N, 4) int64
        Input coordinates at stride s (units of s).

    Returns
    -------
    coarse : (M, 4) int64
        Unique ``(b, x // 2, y // 2, z // 2)``, sorted by packed key; units of 2 s.
    KernelMap
        8 offsets ``(x % 2, y % 2, z % 2)`` in row-major order; each input row appears once.
    """
    coarse, out_rows, k = parent_sites(coords)
    k_sorted, in_rows = torch.sort(k, stable=True)
    counts = tuple(torch.bincount(k_sorted, minlength=8).tolist())
    return coarse, KernelMap(in_rows, out_rows[in_rows], counts, coarse.shape[0])


def unpack_keys(keys: torch.Tensor) -> torch.Tensor:
    """``(N, 4)`` int64 coordinates ``(b, x, y, z)`` of keys packed by :func:`pack_keys`."""
    mask = (1 << BITS) - 1
    return torch.stack(
        [
            keys >> (3 * BITS),
            ((keys >> _SHIFT_X) & mask) - 1,
            ((keys >> _SHIFT_Y) & mask) - 1,
            (keys & mask) - 1,
        ],
        dim=1,
    )
