"""Synthetic events for the Michel benchmark: random-walk muon tracks ending in Michel blobs.

Built here, with no dependence on the simulator: a few random-walk muon tracks two voxels wide,
each ending in a Michel blob, plus scattered noise voxels.
"""

from __future__ import annotations

import numpy as np

from lartpc_seg.labels import Label

#: Offsets that make a path two voxels wide in every direction (a 2×2×2 cube per point).
_WIDTH = np.stack(np.meshgrid([0, 1], [0, 1], [0, 1], indexing="ij"), axis=-1).reshape(-1, 3)


def synthetic_event(
    rng: np.random.Generator,
    n_tracks: int = 4,
    track_length: int = 300,
    michel_voxels: int = 40,
    noise_voxels: int = 200,
    grid: int = 192,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One synthetic event: random-walk muon tracks ending in Michel blobs, plus noise.

    Parameters
    ----------
    rng : numpy Generator
    n_tracks : int
        Muon tracks, each ``track_length`` steps of about 0.5 voxel.
    michel_voxels : int
        Steps of the Michel random walk at each track end.
    noise_voxels : int
        Isolated voxels labelled shower, uniform in the cube.
    grid : int
        Voxels per side.

    Returns
    -------
    coords : (N, 3) int32
    labels : (N,) int8
    energy : (N,) float32, MeV
    """
    parts, labels = [], []
    for _ in range(n_tracks):
        start = rng.integers(grid // 4, 3 * grid // 4, size=3)
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        steps = np.cumsum(0.5 * direction + 0.15 * rng.normal(size=(track_length, 3)), axis=0)
        track = np.rint(start + steps).astype(np.int64)
        end = track[-1]
        walk = np.cumsum(0.6 * rng.normal(size=(michel_voxels, 3)), axis=0)
        michel = np.rint(end + walk).astype(np.int64)
        for points, label in ((track, Label.MIP), (michel, Label.MICHEL)):
            wide = (points[:, None, :] + _WIDTH[None]).reshape(-1, 3)
            parts.append(wide)
            labels.append(np.full(len(wide), label, np.int8))
    parts.append(rng.integers(0, grid, size=(noise_voxels, 3)))
    labels.append(np.full(noise_voxels, Label.SHOWER, np.int8))
    coords = np.clip(np.concatenate(parts), 0, grid - 1)
    label = np.concatenate(labels)
    # Unique voxels; a voxel claimed by several deposits keeps its first label.
    coords, first = np.unique(coords, axis=0, return_index=True)
    energy = rng.gamma(2.0, 0.3, size=len(coords)).astype(np.float32)
    return coords.astype(np.int32), label[first], energy
