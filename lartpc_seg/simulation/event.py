"""Simulate events and event files: ``simulate_event``, ``simulate_primaries``, ``simulate_file``.

Event ``k`` of seed ``s`` uses the generator ``numpy.random.default_rng([s, k])``, so it is the
same whatever file chunk it is generated in, and the same seed gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import yaml

from lartpc_seg import __version__
from lartpc_seg.constants import VOXEL_CM, VOXEL_MM
from lartpc_seg.io.events import Event, FileMeta, write_events
from lartpc_seg.labels import Process, relabel
from lartpc_seg.simulation.composition import Primary, compose_event
from lartpc_seg.simulation.config import SimulationConfig
from lartpc_seg.simulation.transport import Transport
from lartpc_seg.simulation.voxelize import voxelize

#: The ``source`` of the files the simulator writes.
SOURCE = f"lartpc_seg.simulation {__version__}"


def event_rng(seed: int, event: int) -> np.random.Generator:
    """The random generator of event ``event`` of seed ``seed`` (independent of sharding)."""
    return np.random.default_rng([int(seed), int(event)])


def simulate_primaries(
    config: SimulationConfig,
    rng: np.random.Generator,
    primaries: Sequence[Primary],
    event: int = 0,
) -> Event:
    """Transport given primaries and voxelise their deposits into one event.

    Parameters
    ----------
    config : SimulationConfig
    rng : numpy.random.Generator
    primaries : sequence of Primary
        Start points in cm, inside the cube of ``config.grid`` 3 mm voxels.
    event : int
        The event number to record.

    Returns
    -------
    Event
        Voxels (unique, inside the grid, energy above the threshold), original labels (by
        ``config.voxel_label``: the highest deposit label of the particles in the voxel, or
        that of its dominant particle; δ rays with fewer than ``config.delta_min_voxels``
        voxels of their own labelled as their track), relabeled labels, particle table.
    """
    transport = Transport(config, rng)
    for p in primaries:
        transport.add(p.pdg, -1, Process.primary, p.ke_mev, p.start_cm, p.direction)
    deposits = transport.run()
    store = transport.store
    vox = voxelize(
        rng,
        deposits.points / VOXEL_CM,
        deposits.energy,
        deposits.particle,
        store.label[: store.n],
        config.grid,
        config.transverse_sigma_vox,
        config.voxel_threshold_mev,
        config.voxel_label,
        store.parent[: store.n],
        config.delta_min_voxels,
    )
    return Event(
        event=int(event),
        coords=vox.coords,
        energy=vox.energy,
        label=vox.label,
        relabel=relabel(vox.coords, vox.label),
        part=vox.part,
        particles=store.table(vox.edep, 1.0 / VOXEL_CM),
    )


def simulate_event(config: SimulationConfig, seed: int, event: int) -> Event:
    """Simulate event number ``event`` of seed ``seed`` (composition of :func:`compose_event`)."""
    rng = event_rng(seed, event)
    return simulate_primaries(config, rng, compose_event(config, rng), event)


def iterate_events(
    config: SimulationConfig, seed: int, n_events: int, first_event: int = 0
) -> Iterator[Event]:
    """Yield events ``first_event .. first_event + n_events - 1`` of seed ``seed``."""
    for k in range(first_event, first_event + n_events):
        yield simulate_event(config, seed, k)


def file_meta(config: SimulationConfig, seed: int) -> FileMeta:
    """The ``meta`` tree of a simulated file."""
    return FileMeta(
        grid=config.grid,
        voxel_mm=VOXEL_MM,
        source=SOURCE,
        seed=int(seed),
        config=yaml.safe_dump(config.to_dict(), sort_keys=True),
    )


def simulate_file(
    path: str | Path,
    n_events: int,
    seed: int,
    config: SimulationConfig,
    first_event: int = 0,
) -> None:
    """Simulate ``n_events`` events and write them (atomically) to the event file ``path``."""
    write_events(path, iterate_events(config, seed, n_events, first_event), file_meta(config, seed))
