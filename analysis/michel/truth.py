"""The true Michel electron behind a true Michel cluster, through the particle table.

Every voxel's ``part`` is walked up ``part_parent`` to its Michel electron ancestor
(docs/event-format.md); a cluster's electron is the majority over its voxels.
"""

from __future__ import annotations

import numpy as np

from lartpc_seg.ancestry import nearest_ancestor
from lartpc_seg.io.events import ParticleTable
from lartpc_seg.labels import MICHEL_PROCESSES, Label


def michel_ancestor(particles: ParticleTable) -> np.ndarray:
    """Index of each particle's Michel electron ancestor (itself included), -1 if none.

    A Michel electron is a particle of class MICHEL created by one of
    :data:`~lartpc_seg.labels.MICHEL_PROCESSES`; every descendant (its bremsstrahlung photons,
    their Compton electrons, ...) maps to it.

    Parameters
    ----------
    particles : ParticleTable
        The event's particles (P rows).

    Returns
    -------
    (P,) int64 array
    """
    is_root = (particles.cls == Label.MICHEL) & np.isin(particles.process, MICHEL_PROCESSES)
    return nearest_ancestor(particles.parent, is_root)


def true_michel_particle(
    part: np.ndarray, particles: ParticleTable, clusters: list[np.ndarray]
) -> np.ndarray:
    """Index of the Michel electron behind each true cluster, -1 if none.

    Each voxel's ``part`` is mapped to its Michel ancestor; the cluster's electron is the
    majority over its voxels (voxels without a Michel ancestor do not vote).

    Parameters
    ----------
    part : (N,) int array
        Per-voxel index into ``particles``.
    particles : ParticleTable
    clusters : list of int arrays
        Voxel indices of each true cluster.

    Returns
    -------
    (T,) int64 array
    """
    out = np.full(len(clusters), -1, dtype=np.int64)
    if not clusters or len(particles) == 0:
        return out
    ancestor = michel_ancestor(particles)
    for i, voxels in enumerate(clusters):
        anc = ancestor[part[voxels]]
        anc = anc[anc >= 0]
        if anc.size:
            out[i] = np.bincount(anc).argmax()
    return out


def true_michel_energy(
    part: np.ndarray, particles: ParticleTable, clusters: list[np.ndarray]
) -> np.ndarray:
    """Initial kinetic energy of the Michel electron behind each true cluster, MeV.

    The electron is :func:`true_michel_particle`'s; NaN for a cluster none of whose voxels has
    a Michel ancestor.
    """
    which = true_michel_particle(part, particles, clusters)
    out = np.full(len(clusters), np.nan, dtype=np.float32)
    out[which >= 0] = particles.ke[which[which >= 0]] if len(particles) else []
    return out
