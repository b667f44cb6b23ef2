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
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import Event, EventFile, FileMeta, write_events
from lartpc_seg.labels import Process, relabel
from lartpc_seg.simulation.composition import Primary, compose_event
from lartpc_seg.simulation.config import SimulationConfig
from lartpc_seg.simulation.particles import ParticleStore
from lartpc_seg.simulation.transport import Deposits, Transport
from lartpc_seg.simulation.voxelize import Voxels, voxelize

#: The ``source`` of the files the simulator writes.
SOURCE = f"lartpc_seg.simulation {__version__}"
#: Revision of the simulator's physics and of the way its files record their configuration,
#: written to the ``meta`` tree as ``simulation_revision``. Only the revision that wrote a file
#: can remake it event for event (``simulate --like``); raise it with every change to what a
#: configuration and seed produce.
SIMULATION_REVISION = "2"
#: The ``meta`` field that holds :data:`SIMULATION_REVISION`.
REVISION_FIELD = "simulation_revision"


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
        ``config.voxel_label``: the highest deposit label of the particles whose true deposit
        points lie in the voxel, else that of its dominant particle; δ rays with fewer than
        ``config.delta_min_voxels`` voxels of their own labelled as their track), relabeled
        labels, particle table.
    """
    deposits, store = transport_primaries(config, rng, primaries)
    vox = voxelize_deposits(config, rng, deposits, store)
    return Event(
        event=int(event),
        coords=vox.coords,
        energy=vox.energy,
        label=vox.label,
        relabel=relabel(vox.coords, vox.label),
        part=vox.part,
        particles=store.table(vox.edep, 1.0 / VOXEL_CM),
    )


def transport_primaries(
    config: SimulationConfig, rng: np.random.Generator, primaries: Sequence[Primary]
) -> tuple[Deposits, ParticleStore]:
    """Transport the primaries: every deposit point (cm) and the table of all particles."""
    transport = Transport(config, rng)
    for p in primaries:
        transport.add(p.pdg, -1, Process.primary, p.ke_mev, p.start_cm, p.direction)
    deposits = transport.run()
    return deposits, transport.store


def voxelize_deposits(
    config: SimulationConfig, rng: np.random.Generator, deposits: Deposits, store: ParticleStore
) -> Voxels:
    """Voxels of an event's deposits under the configuration's spread, threshold and labels."""
    return voxelize(
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


def config_yaml(config: SimulationConfig) -> str:
    """The configuration as the YAML of the ``meta`` tree: every field, in field order.

    Keys keep their order (the order of ``vertex_species`` is the order its species are drawn
    in) and values their types (floats are written with ``repr`` digits), so
    :func:`config_from_yaml` gives back an equal configuration whose events are the same.
    """
    return yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True)


def config_from_yaml(text: str) -> SimulationConfig:
    """The configuration written by :func:`config_yaml` (raises ``ValueError`` on bad input)."""
    try:
        values = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(f"config is not valid YAML ({err})") from err
    if not isinstance(values, dict):
        raise ValueError("config is not a mapping of SimulationConfig fields")
    return SimulationConfig.from_dict(values)


def file_meta(config: SimulationConfig, seed: int) -> FileMeta:
    """The ``meta`` tree of a simulated file: grid, seed, configuration and revision."""
    return FileMeta(
        grid=config.grid,
        voxel_mm=VOXEL_MM,
        source=SOURCE,
        seed=int(seed),
        config=config_yaml(config),
        extra={REVISION_FIELD: SIMULATION_REVISION},
    )


def remake_recipe(path: str | Path) -> tuple[SimulationConfig, int, list[int]]:
    """The configuration, seed and event numbers that remake the simulated file ``path``.

    Raises
    ------
    InputError
        Naming the file and the ``meta`` field when the file was not written by this revision
        of the simulator (older files sorted the configuration's keys, which reorders
        ``vertex_species``, and were made by other physics), or its configuration is unreadable.
    """
    with EventFile(path) as f:
        meta = f.meta
        events = [int(k) for k in f.tree["event"].array(library="np")]
    revision = meta.extra.get(REVISION_FIELD)
    if revision is None:
        raise InputError(
            path,
            "no simulation revision in the meta tree: the file was written before files recorded "
            "everything that remakes them (or not by the simulator), so its events cannot be "
            "remade; simulate it anew with --seed and --params",
            field=f"meta.{REVISION_FIELD}",
        )
    if revision != SIMULATION_REVISION:
        raise InputError(
            path,
            f"written by simulation revision {revision}, this simulator is revision "
            f"{SIMULATION_REVISION}: its physics differs, so it cannot remake the file's events",
            field=f"meta.{REVISION_FIELD}",
        )
    try:
        config = config_from_yaml(meta.config)
    except ValueError as err:
        raise InputError(path, str(err), field="meta.config") from err
    if config.grid != meta.grid:
        raise InputError(
            path, f"config grid {config.grid} differs from meta grid {meta.grid}", field="meta.grid"
        )
    return config, meta.seed, events


def remake_file(like: str | Path, out: str | Path) -> int:
    """Simulate the events of the simulated file ``like`` anew, from its own ``meta``, to ``out``.

    The result holds the same events (same arrays, same particle tables) as ``like``.

    Returns
    -------
    int
        Number of events written.
    """
    config, seed, numbers = remake_recipe(like)
    events = (simulate_event(config, seed, k) for k in numbers)
    return write_events(out, events, file_meta(config, seed))


def simulate_file(
    path: str | Path,
    n_events: int,
    seed: int,
    config: SimulationConfig,
    first_event: int = 0,
) -> None:
    """Simulate ``n_events`` events and write them (atomically) to the event file ``path``."""
    write_events(path, iterate_events(config, seed, n_events, first_event), file_meta(config, seed))
