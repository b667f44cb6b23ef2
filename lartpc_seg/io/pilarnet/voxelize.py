"""Points of a PILArNet-M event onto the study's cubic grid, energy summed per voxel.

PILArNet-M positions are voxel indices of its own 3 mm grid (0..767 per axis). A point at
position ``u`` (in units of ``unit_mm``) goes to voxel ``floor((u - origin) * unit_mm /
voxel_mm)`` of the study's grid; with the defaults (3 mm units, 3 mm voxels, origin 0) a point's
voxel is its PILArNet voxel. A point whose voxel lies outside ``0 <= i < grid`` is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from lartpc_seg.errors import InputError
from lartpc_seg.io.pilarnet.layout import POINT

VoxelLabel = Literal["priority", "dominant"]


@dataclass(frozen=True)
class Grid:
    """The study's grid and how PILArNet positions map onto it.

    Attributes
    ----------
    size : int
        Voxels per side.
    voxel_mm : float
        Voxel pitch of the study's grid, mm.
    unit_mm : float
        Length of one unit of the file's positions, mm (PILArNet-M: 3).
    origin : (3,) tuple of float
        Position, in file units, of the study grid's corner.
    """

    size: int = 768
    voxel_mm: float = 3.0
    unit_mm: float = 3.0
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def voxel_of(self, positions: np.ndarray) -> np.ndarray:
        """Voxel indices ``(N, 3) int64`` of positions ``(N, 3)`` in file units."""
        scaled = (np.asarray(positions, np.float64) - np.asarray(self.origin)) * (
            self.unit_mm / self.voxel_mm
        )
        return np.floor(scaled).astype(np.int64)


@dataclass
class Voxels:
    """One event's voxels.

    Attributes
    ----------
    coords : (V, 3) int32
        Unique voxel indices, sorted by ``(x, y, z)``.
    energy : (V,) float32
        Summed energy, MeV.
    label : (V,) int8
        Class of the voxel.
    part : (V,) int32
        The cluster giving the voxel the most energy.
    """

    coords: np.ndarray
    energy: np.ndarray
    label: np.ndarray
    part: np.ndarray


def voxelize(
    path: Path,
    entry: int,
    positions: np.ndarray,
    energy: np.ndarray,
    cluster: np.ndarray,
    cluster_label: np.ndarray,
    grid: Grid,
    voxel_label: VoxelLabel = "priority",
) -> Voxels:
    """Sum points into voxels and give each voxel a class and a cluster.

    Parameters
    ----------
    path : Path
        The file, for messages.
    entry : int
        The event's entry, for messages.
    positions : (N, 3) float
        Point positions in file units.
    energy : (N,) float
        Point energies, MeV.
    cluster : (N,) int
        Row of the cluster each point belongs to.
    cluster_label : (M,) int8
        Deposit class of each cluster.
    grid : Grid
    voxel_label : {"priority", "dominant"}
        ``priority``: the highest class among the voxel's points (Michel > delta > shower > MIP
        > HIP, as the 2019 labels); ``dominant``: the class of the cluster giving the most energy.

    Returns
    -------
    Voxels
        The cluster of a voxel is the one whose points there sum to the most energy (the first
        such cluster row on a tie).
    """
    coords = grid.voxel_of(positions)
    outside = ((coords < 0) | (coords >= grid.size)).any(axis=1)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise InputError(
            path,
            f"{int(outside.sum())} points fall outside the {grid.size}^3 grid, the first "
            f"(point {i}) at position {positions[i].tolist()} → voxel {coords[i].tolist()}",
            event=entry,
            field=POINT,
        )
    n = grid.size
    key = (coords[:, 0] * n + coords[:, 1]) * n + coords[:, 2]
    uniq, voxel = np.unique(key, return_inverse=True)
    n_vox = len(uniq)
    total = np.bincount(voxel, weights=energy, minlength=n_vox)

    # Energy per (voxel, cluster) pair; the best cluster of a voxel is the pair with most energy.
    pair_key = voxel.astype(np.int64) * max(len(cluster_label), 1) + cluster
    pairs, pair_idx = np.unique(pair_key, return_inverse=True)
    pair_energy = np.bincount(pair_idx, weights=energy, minlength=len(pairs))
    pair_voxel = pairs // max(len(cluster_label), 1)
    pair_cluster = pairs % max(len(cluster_label), 1)
    order = np.lexsort((pair_cluster, -pair_energy, pair_voxel))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pair_voxel[order][1:] != pair_voxel[order][:-1]
    part = np.zeros(n_vox, np.int64)
    part[pair_voxel[order][first]] = pair_cluster[order][first]

    if voxel_label == "priority":
        label = np.zeros(n_vox, np.int64)
        np.maximum.at(label, voxel, cluster_label[cluster].astype(np.int64))
    else:
        label = cluster_label[part].astype(np.int64)
    out_coords = np.stack([uniq // (n * n), (uniq // n) % n, uniq % n], axis=1)
    return Voxels(
        coords=out_coords.astype(np.int32),
        energy=total.astype(np.float32),
        label=label.astype(np.int8),
        part=part.astype(np.int32),
    )
