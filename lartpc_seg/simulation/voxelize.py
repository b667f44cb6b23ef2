"""Deposit points → unique voxels: diffusion, summing, dominant particle, label, threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rules for the label of a voxel that several particles deposited in (``SimulationConfig.
#: voxel_label``). ``priority``: the highest class of any of them (Michel > delta > shower >
#: MIP > HIP), the rule of the labels of the paper's data (LArCV2 ``SegLabelFiveTypes``,
#: "prioritize higher class values"); ``dominant``: the class of the particle that deposited
#: the most energy.
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
    """

    coords: np.ndarray
    energy: np.ndarray
    part: np.ndarray
    label: np.ndarray
    edep: np.ndarray


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
) -> Voxels:
    """Diffuse, voxelise and sum the deposit points of one event.

    Every point is moved by an isotropic gaussian offset of ``sigma_vox`` voxels per axis
    (transverse diffusion, physics.md §5), then its energy goes to the voxel it falls in.
    Points outside the cube are dropped, deposits are summed per voxel, the voxel's particle is
    the one with the largest summed share, its label follows ``rule`` (``VOXEL_LABEL_RULES``),
    and voxels below ``threshold_mev`` are dropped.

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
    """
    if rule not in VOXEL_LABEL_RULES:
        raise ValueError(f"voxel label rule must be one of {VOXEL_LABEL_RULES}, got {rule!r}")
    n_particles = max(len(particle_label), 1)
    if sigma_vox > 0:
        points_vox = points_vox + rng.normal(0.0, sigma_vox, points_vox.shape)
    idx = np.floor(points_vox).astype(np.int64)
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
    if rule == "priority":
        label = np.maximum.reduceat(particle_label[pair_part], first) if len(first) else dominant
    else:
        label = particle_label[dominant]
    keep = voxel_energy >= threshold_mev
    voxel_key = voxel_key[keep]
    coords = np.stack(
        [voxel_key // (grid * grid), (voxel_key // grid) % grid, voxel_key % grid], axis=1
    )
    return Voxels(
        coords=coords.astype(np.int32),
        energy=voxel_energy[keep].astype(np.float32),
        part=dominant[keep].astype(np.int32),
        label=np.asarray(label)[keep].astype(np.int8),
        edep=edep,
    )
