"""Deposit points → unique voxels: charge spread, summing, dominant particle, label, threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lartpc_seg.ancestry import nearest_ancestor
from lartpc_seg.labels import Label

#: Rules for the label of a voxel that several particles deposited in (``SimulationConfig.
#: voxel_label``). ``priority``: the highest class among the particles whose true (unspread)
#: deposit points lie in the voxel (Michel > delta > shower > MIP > HIP), as the paper's label
#: maker (Supera with ``UseTruePosition``, LArCV2 ``SegLabelFiveTypes``: "prioritize higher
#: class values"); a voxel that only the charge spread reaches takes the class of the particle
#: that put the most charge in it. ``dominant``: every voxel the class of the particle that put
#: the most charge in it.
VOXEL_LABEL_RULES = ("priority", "dominant")


@dataclass
class Voxels:
    """The voxels of one event and the energy each particle left inside the volume.

    Attributes
    ----------
    coords : (N, 3) int32
        Voxel indices, unique, in ``0 <= i < grid``.
    energy : (N,) float32
        Summed deposits, MeV (all above the threshold).
    part : (N,) int32
        Particle that deposited most of each voxel's energy.
    label : (N,) int8
        Class of each voxel under the overlap rule.
    edep : (P,) float64
        Energy each particle deposited inside the volume (before the threshold), MeV.
    true_voxel : (N,) bool
        Whether a true (unspread) deposit point lies in the voxel.
    pair_voxel, pair_part : (Q,) int64
        Row (into ``coords``) and particle of every (voxel, particle) pair of the charge.
    pair_energy : (Q,) float64
        Charge that particle put in that voxel, MeV.
    """

    coords: np.ndarray
    energy: np.ndarray
    part: np.ndarray
    label: np.ndarray
    edep: np.ndarray
    true_voxel: np.ndarray
    pair_voxel: np.ndarray
    pair_part: np.ndarray
    pair_energy: np.ndarray


def voxelize(
    rng: np.random.Generator,
    points_vox: np.ndarray,
    energy_mev: np.ndarray,
    particle: np.ndarray,
    particle_label: np.ndarray,
    grid: int,
    sigma_vox: float,
    threshold_mev: float,
    rule: str = "priority",
    particle_parent: np.ndarray | None = None,
    delta_min_voxels: int = 0,
) -> Voxels:
    """Spread, voxelise and sum the deposit points of one event; label the voxels.

    The charge of every point is moved by an isotropic gaussian offset of ``sigma_vox`` voxels
    per axis (docs/physics.md §8), then goes to the voxel it falls in. Points
    outside the cube are dropped, charge is summed per voxel, the voxel's particle is the one
    with the largest summed share, and voxels below ``threshold_mev`` are dropped. Labels
    follow ``rule`` (``VOXEL_LABEL_RULES``): with ``priority`` a voxel holding true deposit
    points takes the highest class among their particles, any other its dominant particle's.

    Parameters
    ----------
    rng : numpy.random.Generator
    points_vox : (M, 3) float
        Deposit points, voxel units.
    energy_mev : (M,) float
    particle : (M,) int
        Index of the depositing particle.
    particle_label : (P,) int
        Deposit class of every particle of the table.
    grid : int
        Voxels per side.
    sigma_vox : float
        Diffusion width, voxels.
    threshold_mev : float
        Smallest voxel energy kept.
    rule : str
        ``priority`` (highest class present, the paper's data) or ``dominant`` (class of the
        particle that deposited most).
    particle_parent : (P,) int, optional
        Parent index of every particle (-1 for a primary; a parent precedes its children).
        Needed when ``delta_min_voxels > 0``.
    delta_min_voxels : int
        A δ ray whose voxels not shared with the track that emitted it are fewer than this is
        labelled as that track (see :func:`merged_delta_labels`); 0 keeps every δ ray.
    """
    if rule not in VOXEL_LABEL_RULES:
        raise ValueError(f"voxel label rule must be one of {VOXEL_LABEL_RULES}, got {rule!r}")
    if delta_min_voxels < 0:
        raise ValueError(f"delta_min_voxels must be >= 0, got {delta_min_voxels}")
    if delta_min_voxels > 0 and particle_parent is None:
        raise ValueError("delta_min_voxels > 0 needs particle_parent")
    n_particles = max(len(particle_label), 1)
    true_idx = np.floor(points_vox).astype(np.int64)
    if sigma_vox > 0:
        points_vox = points_vox + rng.normal(0.0, sigma_vox, points_vox.shape)
    idx = np.floor(points_vox).astype(np.int64)
    true_inside = ((true_idx >= 0) & (true_idx < grid)).all(axis=1) & (energy_mev > 0)
    true_key = (true_idx[:, 0] * grid + true_idx[:, 1]) * grid + true_idx[:, 2]
    true_key, true_particle = true_key[true_inside], particle[true_inside].astype(np.int64)
    inside = ((idx >= 0) & (idx < grid)).all(axis=1) & (energy_mev > 0)
    idx, energy, particle = idx[inside], energy_mev[inside], particle[inside].astype(np.int64)
    edep = np.bincount(particle, weights=energy, minlength=n_particles)
    vkey = (idx[:, 0] * grid + idx[:, 1]) * grid + idx[:, 2]
    pair_key, inverse = np.unique(vkey * n_particles + particle, return_inverse=True)
    pair_energy = np.bincount(inverse, weights=energy)
    pair_voxel = pair_key // n_particles
    pair_part = pair_key % n_particles
    voxel_key, first = np.unique(pair_voxel, return_index=True)
    voxel_energy = np.add.reduceat(pair_energy, first)
    # dominant particle: sort the pairs by voxel, then by decreasing energy; take each first
    order = np.lexsort((-pair_energy, pair_voxel))
    dominant = pair_part[order[first]]
    keep = voxel_energy >= threshold_mev
    if delta_min_voxels > 0:
        kept_pair = np.repeat(keep, np.diff(np.append(first, len(pair_key))))
        particle_label = merged_delta_labels(
            particle_label,
            np.asarray(particle_parent, np.int64),
            pair_voxel[kept_pair],
            pair_part[kept_pair],
            delta_min_voxels,
        )
    label = particle_label[dominant]
    true_voxel = np.zeros(len(voxel_key), bool)
    if len(true_key) and len(voxel_key):
        true_keys, true_label = _priority_labels(true_key, particle_label[true_particle])
        at = np.minimum(np.searchsorted(true_keys, voxel_key), len(true_keys) - 1)
        true_voxel = true_keys[at] == voxel_key
        if rule == "priority":
            label = np.where(true_voxel, true_label[at], label)
    voxel_key = voxel_key[keep]
    pair_row = np.repeat(np.cumsum(keep) - 1, np.diff(np.append(first, len(pair_key))))
    kept_pairs = np.repeat(keep, np.diff(np.append(first, len(pair_key))))
    coords = np.stack(
        [voxel_key // (grid * grid), (voxel_key // grid) % grid, voxel_key % grid], axis=1
    )
    return Voxels(
        coords=coords.astype(np.int32),
        energy=voxel_energy[keep].astype(np.float32),
        part=dominant[keep].astype(np.int32),
        label=np.asarray(label)[keep].astype(np.int8),
        edep=edep,
        true_voxel=true_voxel[keep],
        pair_voxel=pair_row[kept_pairs],
        pair_part=pair_part[kept_pairs],
        pair_energy=pair_energy[kept_pairs],
    )


def _priority_labels(keys: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique voxel keys and the highest label among the points of each."""
    order = np.argsort(keys, kind="stable")
    keys, labels = keys[order], labels[order]
    unique, first = np.unique(keys, return_index=True)
    return unique, np.maximum.reduceat(labels, first)


def delta_groups(particle_label: np.ndarray, particle_parent: np.ndarray) -> np.ndarray:
    """The δ ray each particle's deposits belong to: the index of its root, -1 for none.

    A root is a particle with the delta deposit label whose parent has another one (the δ
    electron a track knocked out); its descendants with the delta label (its bremsstrahlung
    photons and their electrons) belong to it.

    Parameters
    ----------
    particle_label : (P,) int
        Deposit class of every particle.
    particle_parent : (P,) int
        Parent index of every particle, -1 for a primary.

    Returns
    -------
    (P,) int64
    """
    parent = np.asarray(particle_parent, np.int64)
    is_delta = np.asarray(particle_label) == Label.DELTA
    has_parent = parent >= 0
    parent_is_delta = np.zeros_like(is_delta)
    parent_is_delta[has_parent] = is_delta[parent[has_parent]]
    root = nearest_ancestor(parent, is_delta & ~parent_is_delta)
    return np.where(is_delta, root, -1)


def merged_delta_labels(
    particle_label: np.ndarray,
    particle_parent: np.ndarray,
    pair_voxel: np.ndarray,
    pair_part: np.ndarray,
    min_voxels: int,
) -> np.ndarray:
    """Deposit labels with the δ rays too small to stand out given their track's label.

    DeepLearnPhysics' label maker (Supera, ``SuperaMCParticleCluster::MergeShowerDeltas``,
    parameter ``DeltaSize``, default 10) merges a δ ray into the track that emitted it when
    fewer than ``DeltaSize`` of its voxels are not also voxels of that track: such a δ ray
    (below ~3 MeV, shorter than ~4 voxels) lies inside the track's 1-2-voxel width and is part
    of its deposit. Here the whole δ ray (see :func:`delta_groups`) then takes its track's label.

    Parameters
    ----------
    particle_label : (P,) int
        Deposit class of every particle.
    particle_parent : (P,) int
        Parent index of every particle, -1 for a primary.
    pair_voxel, pair_part : (M,) int
        The distinct (voxel key, particle) pairs of the deposits in kept voxels.
    min_voxels : int
        Fewest own voxels a δ ray keeps its label with.

    Returns
    -------
    (P,) array of the dtype of ``particle_label``
    """
    label = np.array(particle_label, copy=True)
    root = delta_groups(label, particle_parent)
    emitter = np.where(root >= 0, np.asarray(particle_parent)[np.maximum(root, 0)], -1)
    in_group = root[pair_part] >= 0
    if not in_group.any():
        return label
    n = len(label) + 1
    track_keys = pair_voxel * n + pair_part
    group = root[pair_part[in_group]]
    voxel = pair_voxel[in_group]
    group_voxel = np.unique(voxel * n + group)
    g, v = group_voxel % n, group_voxel // n
    shared = (emitter[g] >= 0) & np.isin(v * n + emitter[g], track_keys)
    own = np.bincount(g[~shared], minlength=len(label))
    roots = np.unique(g)
    small = roots[(own[roots] < min_voxels) & (emitter[roots] >= 0)]
    members = np.isin(root, small)
    label[members] = label[emitter[root[members]]]
    return label
