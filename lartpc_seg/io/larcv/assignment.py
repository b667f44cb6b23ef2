"""The particle of each voxel (``vox_part``) of an imported event.

``vox_part`` is the particle whose ``cluster3d`` voxel set gives the voxel the most energy
(cluster ``k`` belongs to particle ``k``; extra clusters are ignored). Voxels no cluster covers,
or every voxel when the cluster tree is absent, take the particle of the voxel's class whose
start-end segment passes closest to the voxel centre (any particle if none has the class).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lartpc_seg.io.events import ParticleTable
from lartpc_seg.labels import NUM_CLASSES


def assign_by_clusters(
    voxel_ids: np.ndarray,
    cluster_ids: Sequence[np.ndarray],
    cluster_values: Sequence[np.ndarray],
    n_particles: int,
) -> np.ndarray:
    """Particle of each voxel from per-particle voxel sets: the one giving it most energy.

    Parameters
    ----------
    voxel_ids : (N,) uint64
        The event's voxel ids.
    cluster_ids, cluster_values : sequences of (M_k,) arrays
        Voxel ids and energies (MeV) of cluster ``k``; cluster ``k`` belongs to particle ``k``.
        Clusters ``k >= n_particles`` are ignored.
    n_particles : int

    Returns
    -------
    (N,) int32
        Particle index, -1 for a voxel no cluster holds.
    """
    voxel_ids = np.asarray(voxel_ids, np.uint64)
    out = np.full(len(voxel_ids), -1, np.int32)
    k = min(len(cluster_ids), n_particles)
    if k == 0 or len(voxel_ids) == 0:
        return out
    ids = np.concatenate([np.asarray(c, np.uint64) for c in cluster_ids[:k]])
    values = np.concatenate([np.asarray(v, np.float64) for v in cluster_values[:k]])
    owner = np.repeat(np.arange(k, dtype=np.int32), [len(c) for c in cluster_ids[:k]])
    order = np.lexsort((-values, ids))  # by id, then by decreasing energy
    ids, owner = ids[order], owner[order]
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    best_ids, best_owner = ids[first], owner[first]
    pos = np.clip(np.searchsorted(best_ids, voxel_ids), 0, len(best_ids) - 1)
    hit = best_ids[pos] == voxel_ids
    out[hit] = best_owner[pos[hit]]
    return out


def _segment_distance(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distances ``(N, P)`` from points ``(N, 3)`` to segments ``start[p] → end[p]``."""
    d = end - start
    len2 = np.sum(d * d, axis=1)
    rel = points[:, None, :] - start[None, :, :]
    t = np.where(len2 > 0, np.sum(rel * d[None], axis=2) / np.where(len2 > 0, len2, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    closest = start[None] + t[..., None] * d[None]
    return np.linalg.norm(points[:, None, :] - closest, axis=2)


def assign_by_proximity(
    coords: np.ndarray, labels: np.ndarray, particles: ParticleTable, *, chunk: int = 4096
) -> np.ndarray:
    """Fallback particle of each voxel: nearest start-end segment among particles of its class.

    Parameters
    ----------
    coords : (N, 3) int
        Voxel indices; the voxel centre is ``coords + 0.5`` in voxel units.
    labels : (N,) int
        The voxels' classes; a voxel whose class no particle has considers every particle.
    particles : ParticleTable
        Must hold at least one particle when ``N > 0``.
    chunk : int
        Voxels per block of the distance matrix (memory ``chunk * P`` floats).

    Returns
    -------
    (N,) int32
    """
    n = len(coords)
    out = np.zeros(n, np.int32)
    if n == 0:
        return out
    start = particles.start.astype(np.float64)
    end = particles.end.astype(np.float64)
    has_class = np.zeros((NUM_CLASSES, len(particles)), dtype=bool)
    has_class[particles.cls.astype(np.int64), np.arange(len(particles))] = True
    allowed = has_class[np.asarray(labels, np.int64)]
    allowed[~allowed.any(axis=1)] = True
    centres = np.asarray(coords, np.float64) + 0.5
    for lo in range(0, n, chunk):
        dist = _segment_distance(centres[lo : lo + chunk], start, end)
        dist[~allowed[lo : lo + chunk]] = np.inf
        out[lo : lo + chunk] = np.argmin(dist, axis=1)
    return out
