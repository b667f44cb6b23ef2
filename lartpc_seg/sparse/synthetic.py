"""Synthetic sparse events for tests and benchmarks (independent of the simulator).

Nothing here is physics: the voxel sets only have the shape of LArTPC data, connected 1–2
voxel wide tracks plus compact blobs, so kernel maps have realistic neighbour counts.
"""

from __future__ import annotations

import torch


def random_coords(
    sizes: list[int], grid: int, generator: torch.Generator, shuffle: bool = True
) -> torch.Tensor:
    """Unique coordinates of a batch of small random events.

    Parameters
    ----------
    sizes : list of int
        Voxels of event ``b`` (0 allowed); fewer when the walk revisits voxels.
    grid : int
        Events lie in ``[0, grid)³``.
    generator : torch.Generator
    shuffle : bool
        Shuffle the rows (events interleaved).

    Returns
    -------
    (N, 4) int64
        ``(batch, x, y, z)``.
    """
    parts = []
    for b, n in enumerate(sizes):
        if n == 0:
            continue
        walk = torch.randint(-1, 2, (n, 3), generator=generator).cumsum(0)
        start = torch.randint(0, grid, (1, 3), generator=generator)
        scatter = torch.randint(0, grid, (n // 3, 3), generator=generator)
        xyz = torch.cat([(start + walk) % grid, scatter])
        xyz = xyz[_first_unique(xyz)][:n]
        parts.append(torch.cat([torch.full((len(xyz), 1), b), xyz], dim=1))
    if not parts:
        return torch.zeros((0, 4), dtype=torch.int64)
    coords = torch.cat(parts).to(torch.int64)
    if shuffle:
        coords = coords[torch.randperm(len(coords), generator=generator)]
    return coords


def _first_unique(xyz: torch.Tensor) -> torch.Tensor:
    """Row indices of the first occurrence of each distinct row, in order of appearance."""
    key = (xyz[:, 0] << 42) | (xyz[:, 1] << 21) | xyz[:, 2]
    _, inverse = torch.unique(key, return_inverse=True)
    first = torch.full((int(inverse.max()) + 1,), len(xyz), dtype=torch.int64)
    first.scatter_reduce_(0, inverse, torch.arange(len(xyz)), reduce="amin")
    return torch.sort(first).values


def track_event(
    voxels: int, grid: int, generator: torch.Generator, batch: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """One synthetic event of ``~voxels`` voxels: random-walk tracks 1–2 voxels wide and blobs.

    Tracks are persistent random walks (direction changes slowly) thickened by one random
    neighbour per step half of the time; a third of the voxels are in blobs (Gaussian clouds
    of radius ~4 voxels, like showers' dense cores).

    Parameters
    ----------
    voxels : int
        Target number of voxels (the result has at most this many, usually within a few %).
    grid : int
        Spatial extent; coordinates lie in ``[0, grid)³``.
    generator : torch.Generator
    batch : int
        Batch index written in column 0.

    Returns
    -------
    coords : (N, 4) int64
        ``(batch, x, y, z)``, unique.
    energy : (N, 1) float32
        A positive feature per voxel (MeV-like scale).
    """
    g = generator
    n_track = (2 * voxels) // 3
    n_tracks = max(1, n_track // 400)
    steps = max(1, n_track // (n_tracks * 2))
    direction = torch.randn(n_tracks, 1, 3, generator=g)
    turns = 0.15 * torch.randn(n_tracks, steps, 3, generator=g)
    heading = direction + turns.cumsum(1)
    heading = heading / heading.norm(dim=2, keepdim=True)
    start = torch.rand(n_tracks, 1, 3, generator=g) * grid
    path = start + heading.cumsum(1)
    thick = torch.randint(-1, 2, path.shape, generator=g) * (
        torch.rand((*path.shape[:2], 1), generator=g) < 0.5
    )
    track_xyz = torch.cat([path.reshape(-1, 3), (path + thick).reshape(-1, 3)]).round().long()
    n_blob = voxels - n_track
    n_blobs = max(1, n_blob // 1500)
    centres = torch.rand(n_blobs, 1, 3, generator=g) * grid
    cloud = centres + 4.0 * torch.randn(n_blobs, 2 * n_blob // n_blobs, 3, generator=g)
    xyz = torch.cat([track_xyz, cloud.reshape(-1, 3).round().long()]) % grid
    xyz = xyz[_first_unique(xyz)][:voxels]
    coords = torch.cat([torch.full((len(xyz), 1), batch, dtype=torch.int64), xyz], dim=1)
    energy = torch.rand(len(xyz), 1, generator=g) * 2.0 + 0.05
    return coords, energy
