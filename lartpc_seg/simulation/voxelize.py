"""Deposit points → unique voxels: diffusion, summing, dominant particle, threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    edep : (P,) float64
        Energy each particle deposited inside the volume (before the threshold), MeV.
    """

    coords: np.ndarray
    energy: np.ndarray
    part: np.ndarray
    edep: np.ndarray


def voxelize(
    rng: np.random.Generator,
    points_vox: np.ndarray,
    energy_mev: np.ndarray,
    particle: np.ndarray,
    n_particles: int,
    grid: int,
    sigma_vox: float,
    threshold_mev: float,
) -> Voxels:
    """Diffuse, voxelise and sum the deposit points of one event.

    Every point is moved by an isotropic gaussian offset of ``sigma_vox`` voxels per axis
    (transverse diffusion, physics.md §5), then its energy goes to the voxel it falls in.
    Points outside the cube are dropped, deposits are summed per voxel, the voxel's particle is
    the one with the largest summed share, and voxels below ``threshold_mev`` are dropped.

    Parameters
    ----------
    rng : numpy.random.Generator
    points_vox : (M, 3) float
        Deposit points, voxel units.
    energy_mev : (M,) float
    particle : (M,) int
        Index of the depositing particle.
    n_particles : int
        Size of the particle table.
    grid : int
        Voxels per side.
    sigma_vox : float
        Diffusion width, voxels.
    threshold_mev : float
        Smallest voxel energy kept.
    """
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
    keep = voxel_energy >= threshold_mev
    voxel_key = voxel_key[keep]
    coords = np.stack(
        [voxel_key // (grid * grid), (voxel_key // grid) % grid, voxel_key % grid], axis=1
    )
    return Voxels(
        coords=coords.astype(np.int32),
        energy=voxel_energy[keep].astype(np.float32),
        part=dominant[keep].astype(np.int32),
        edep=edep,
    )
