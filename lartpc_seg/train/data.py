"""Training data: events held as flat arrays, batches of sparse events, augmentation, ordering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lartpc_seg.cube import random_symmetry
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import EventFile

LABEL_FIELDS = ("label", "relabel")


@dataclass
class Batch:
    """A batch of sparse events as the network takes them.

    Attributes
    ----------
    coords : (N, 4) int64
        (batch index, x, y, z) of every voxel.
    features : (N, 1) float32
        Voxel energy, MeV.
    labels : (N,) int64
        Target class of every voxel.
    n_events : int
        Events in the batch.
    """

    coords: torch.Tensor
    features: torch.Tensor
    labels: torch.Tensor
    n_events: int

    def to(self, device: torch.device) -> Batch:
        """The batch on ``device``."""
        return Batch(
            self.coords.to(device), self.features.to(device), self.labels.to(device), self.n_events
        )


class EventStore:
    """The voxels of every event of a list of files, as flat arrays with offsets.

    Parameters
    ----------
    paths : sequence of path
        Event files, read in order.
    labels : {"label", "relabel"}
        Which true labels are the training target.
    limit : int, optional
        Keep only the first ``limit`` events.
    """

    def __init__(
        self, paths: Sequence[str | Path], labels: str, *, limit: int | None = None
    ) -> None:
        if labels not in LABEL_FIELDS:
            raise ValueError(f"labels must be one of {LABEL_FIELDS}, got {labels!r}")
        coords, energy, target, counts = [], [], [], []
        self.grid = 0
        for path in paths:
            with EventFile(path) as file:
                self.grid = max(self.grid, file.meta.grid)
                for event in file.iterate():
                    coords.append(event.coords)
                    energy.append(event.energy)
                    target.append(getattr(event, labels))
                    counts.append(len(event))
                    if limit is not None and len(counts) >= limit:
                        break
            if limit is not None and len(counts) >= limit:
                break
        if not counts:
            raise InputError(", ".join(map(str, paths)), "no events to train on")
        self.coords = np.concatenate(coords).astype(np.int64)
        self.energy = np.concatenate(energy).astype(np.float32)
        self.labels = np.concatenate(target).astype(np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def batch(
        self, indices: Sequence[int], rngs: Sequence[np.random.Generator] | None = None
    ) -> Batch:
        """Assemble the events ``indices`` into one batch.

        When ``rngs`` is given (one generator per event, see :func:`augmentation_rngs`), each
        event is rotated by a random symmetry of the cube drawn from its own generator.
        """
        if rngs is not None and len(rngs) != len(indices):
            raise ValueError(f"{len(rngs)} generators for {len(indices)} events")
        coords, energy, labels = [], [], []
        for b, i in enumerate(indices):
            sl = slice(self.offsets[i], self.offsets[i + 1])
            c = self.coords[sl]
            if rngs is not None:
                c = random_symmetry(rngs[b]).apply(c, self.grid)
            coords.append(np.concatenate([np.full((len(c), 1), b, np.int64), c], axis=1))
            energy.append(self.energy[sl])
            labels.append(self.labels[sl])
        return Batch(
            coords=torch.from_numpy(np.concatenate(coords)),
            features=torch.from_numpy(np.concatenate(energy)[:, None]),
            labels=torch.from_numpy(np.concatenate(labels)),
            n_events=len(indices),
        )


def epoch_order(n_events: int, epoch: int, seed: int) -> np.ndarray:
    """The order of the events in one epoch: a permutation drawn from (seed, epoch)."""
    return np.random.default_rng([seed, epoch]).permutation(n_events)


def batch_indices(
    iteration: int, n_events: int, global_batch: int, seed: int, rank: int = 0, world: int = 1
) -> np.ndarray:
    """Events of one optimiser step for one worker.

    The global batch of step ``iteration`` is the same whatever the number of workers: a run on
    one worker and a run on ``world`` workers see the same events at every step, and the workers
    of a step see disjoint slices of it.

    Parameters
    ----------
    iteration : int
        Optimiser step, from 0.
    n_events : int
        Events in the training set.
    global_batch : int
        Events per step over all workers; a multiple of ``world``.
    seed : int
        Shuffling seed; each epoch is a new permutation.
    rank, world : int
        This worker and the number of workers.
    """
    if global_batch % world:
        raise ValueError(f"global batch {global_batch} is not a multiple of {world} workers")
    start = iteration * global_batch
    positions = np.arange(start, start + global_batch)
    epochs = positions // n_events
    out = np.empty(global_batch, dtype=np.int64)
    for epoch in np.unique(epochs):
        sel = epochs == epoch
        out[sel] = epoch_order(n_events, int(epoch), seed)[positions[sel] % n_events]
    per_worker = global_batch // world
    return out[rank * per_worker : (rank + 1) * per_worker]


def augmentation_rngs(
    iteration: int, global_batch: int, seed: int, rank: int = 0, world: int = 1
) -> list[np.random.Generator]:
    """One generator per event of this worker's share of step ``iteration``.

    A generator is keyed by (seed, iteration, position of the event in the global batch), not
    by the worker, so an event is augmented the same way whatever the number of workers.

    Parameters
    ----------
    iteration, global_batch, seed, rank, world
        As in :func:`batch_indices`.
    """
    per_worker = global_batch // world
    return [
        np.random.default_rng([seed, iteration, slot, 1])
        for slot in range(rank * per_worker, (rank + 1) * per_worker)
    ]
