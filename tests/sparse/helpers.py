"""Random sparse events for the engine tests."""

from __future__ import annotations

import torch


def random_coords(
    sizes: list[int], grid: int, generator: torch.Generator, shuffle: bool = True
) -> torch.Tensor:
    """``(N, 4)`` int64 unique coordinates: event ``b`` has ``sizes[b]`` voxels in a ``grid³`` box.

    Voxels come as short random walks (so neighbours exist) plus scattered points.
    """
    parts = []
    for b, n in enumerate(sizes):
        if n == 0:
            continue
        walk = torch.randint(-1, 2, (n, 3), generator=generator).cumsum(0)
        start = torch.randint(0, grid, (1, 3), generator=generator)
        xyz = (start + walk) % grid
        scatter = torch.randint(0, grid, (n // 3, 3), generator=generator)
        xyz = torch.unique(torch.cat([xyz, scatter]), dim=0)[:n]
        parts.append(torch.cat([torch.full((len(xyz), 1), b), xyz], dim=1))
    if not parts:
        return torch.zeros((0, 4), dtype=torch.int64)
    coords = torch.cat(parts).to(torch.int64)
    if shuffle:
        coords = coords[torch.randperm(len(coords), generator=generator)]
    return coords
