"""Conversion of PILArNet-M HDF5 files into event files, streamed in chunks of events.

Per event (docs/open-data.md): reshape and check (:mod:`.layout`); cluster classes and 2019
labels (:mod:`.semantics`); points with ``energy <= energy_threshold`` and, with
``low_energy="drop"``, the low-energy scatters' points are removed; the rest are summed into the
study's voxels (:mod:`.voxelize`); ``vox_relabel`` is :func:`lartpc_seg.labels.relabel` of the
labels; the particle table has one row per kept cluster. The output's ``event`` is the entry
index in the HDF5 file.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, TextIO

import numpy as np
import yaml

from lartpc_seg.errors import InputError
from lartpc_seg.io.digest import file_sha256
from lartpc_seg.io.events import Event, ParticleTable, write_events
from lartpc_seg.io.pilarnet.layout import (
    POINT,
    ClusterColumn,
    PilarnetFile,
    PointColumn,
    RawEvent,
    Semantic,
)
from lartpc_seg.io.pilarnet.semantics import (
    LabelOptions,
    cluster_classes,
    deposit_classes,
    particle_table,
)
from lartpc_seg.io.pilarnet.voxelize import Grid, VoxelLabel, voxelize
from lartpc_seg.io.root import FileMeta
from lartpc_seg.labels import relabel

EnergyColumn = Literal["value", "deposit"]

_ENERGY_COLUMN = {"value": PointColumn.VALUE, "deposit": PointColumn.ENERGY}


@dataclass(frozen=True)
class ImportOptions:
    """Options of :func:`import_pilarnet`.

    Attributes
    ----------
    grid : Grid
        The study's grid and the positions' unit and origin.
    labels : LabelOptions
        Class mapping (:mod:`lartpc_seg.io.pilarnet.semantics`).
    voxel_label : {"priority", "dominant"}
        Class of a voxel several clusters deposit in (:func:`.voxelize.voxelize`).
    energy_column : {"value", "deposit"}
        Point column used as the energy: ``value`` (column 3, the voxel value the reference
        loader uses) or ``deposit`` (column 4).
    energy_threshold : float
        Points with energy ``<=`` this (MeV) are removed before voxelisation (PoLAr-MAE uses
        0.13); 0 removes only zero-energy points. Negative or NaN energies are errors.
    first, events : int, int or None
        Entries ``first .. first + events`` of the file (``events=None``: to the end).
    chunk : int
        Entries read from the file at a time.
    """

    grid: Grid = field(default_factory=Grid)
    labels: LabelOptions = field(default_factory=LabelOptions)
    voxel_label: VoxelLabel = "priority"
    energy_column: EnergyColumn = "value"
    energy_threshold: float = 0.0
    first: int = 0
    events: int | None = None
    chunk: int = 64


@dataclass
class Counts:
    """What a conversion kept and removed, for the summary line."""

    events: int = 0
    points: int = 0
    below_threshold: int = 0
    low_energy_dropped: int = 0
    voxels: int = 0


def convert_event(path: Path, raw: RawEvent, options: ImportOptions, counts: Counts) -> Event:
    """One PILArNet-M event as an event-format :class:`~lartpc_seg.io.events.Event`.

    Raises
    ------
    InputError
        Naming the file, the entry and the dataset for anything it cannot map.
    """
    own = cluster_classes(path, raw, options.labels)
    deposit = deposit_classes(raw, own, options.labels.labels)
    energy = raw.points[:, _ENERGY_COLUMN[options.energy_column]]
    bad = ~np.isfinite(energy) | (energy < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            path,
            f"{int(bad.sum())} points have a negative or NaN energy, the first (point {i}) "
            f"{energy[i]} (column {int(_ENERGY_COLUMN[options.energy_column])})",
            event=raw.entry,
            field=POINT,
        )
    positions = raw.points[:, : PointColumn.Z + 1]
    if not np.isfinite(positions).all():
        i = int(np.flatnonzero(~np.isfinite(positions).all(axis=1))[0])
        raise InputError(path, f"point {i} has a NaN position", event=raw.entry, field=POINT)
    cluster = raw.point_cluster()
    keep_cluster = np.ones(len(raw.clusters), dtype=bool)
    if options.labels.low_energy == "drop":
        keep_cluster = raw.clusters[:, ClusterColumn.SEMANTIC] != Semantic.LOW_ENERGY
    above = energy > options.energy_threshold
    keep = above & keep_cluster[cluster]
    counts.events += 1
    counts.points += len(energy)
    counts.below_threshold += int((~above).sum())
    counts.low_energy_dropped += int((above & ~keep_cluster[cluster]).sum())

    # Particle rows: the kept clusters, renumbered; parents that were dropped become -1.
    new_index = np.cumsum(keep_cluster) - 1
    edep = np.bincount(cluster[keep], weights=energy[keep], minlength=len(raw.clusters))
    full = particle_table(raw, own, edep)
    parent = full.parent[keep_cluster]
    has_parent = parent >= 0
    parent[has_parent] = np.where(
        keep_cluster[parent[has_parent]], new_index[parent[has_parent]], -1
    )
    particles = ParticleTable(
        pdg=full.pdg[keep_cluster],
        parent=parent.astype(np.int32),
        process=full.process[keep_cluster],
        cls=full.cls[keep_cluster],
        ke=full.ke[keep_cluster],
        start=full.start[keep_cluster],
        end=full.end[keep_cluster],
        edep=full.edep[keep_cluster],
    )
    vox = voxelize(
        path,
        raw.entry,
        positions[keep],
        energy[keep],
        new_index[cluster[keep]],
        deposit[keep_cluster],
        options.grid,
        options.voxel_label,
    )
    counts.voxels += len(vox.energy)
    return Event(
        event=raw.entry,
        coords=vox.coords,
        energy=vox.energy,
        label=vox.label,
        relabel=relabel(vox.coords, vox.label),
        part=vox.part,
        particles=particles,
    )


class Progress:
    """Progress lines with rate and ETA, at most one every ``every`` seconds.

    Parameters
    ----------
    name : str
        What is being converted (the file name).
    total : int
        Events to convert.
    stream : text stream
        Where the lines go (default stderr).
    every : float
        Seconds between lines.
    clock : callable
        Time source (tests pass a fake one).
    """

    def __init__(
        self,
        name: str,
        total: int,
        *,
        stream: TextIO | None = None,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.total = total
        self.stream = sys.stderr if stream is None else stream
        self.every = every
        self.clock = clock
        self.start = clock()
        self.last = self.start

    def line(self, done: int) -> str:
        """The progress line after ``done`` events."""
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = done / elapsed
        pct = 100.0 * done / self.total if self.total else 100.0
        left = (self.total - done) / rate if rate > 0 else math.inf
        eta = "unknown" if math.isinf(left) else _duration(left)
        return (
            f"{self.name}: {done}/{self.total} events ({pct:.1f} %), {rate:.1f} events/s, ETA {eta}"
        )

    def update(self, done: int, *, force: bool = False) -> None:
        """Print a line if ``every`` seconds have passed since the last (or ``force``)."""
        now = self.clock()
        if force or now - self.last >= self.every:
            print(self.line(done), file=self.stream, flush=True)
            self.last = now


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h} h {m:02d} min" if h else (f"{m} min {s:02d} s" if m else f"{s} s")


def verify_sha256(path: Path, expected: str) -> None:
    """Stop with one line naming the file and both digests unless its SHA-256 is ``expected``."""
    actual = file_sha256(path)
    if actual != expected.lower():
        raise InputError(path, f"SHA-256 is {actual}, the configuration expects {expected.lower()}")


def _meta(path: Path, options: ImportOptions, layout: str) -> FileMeta:
    config = {"importer": "lartpc_seg import-pilarnet", "input": str(path), "layout": layout}
    config.update(json.loads(json.dumps(asdict(options))))  # tuples as lists for YAML
    return FileMeta(
        grid=options.grid.size,
        voxel_mm=options.grid.voxel_mm,
        source=f"PILArNet-M {path.name} ({layout})",
        seed=-1,
        config=yaml.safe_dump(config, sort_keys=False),
    )


def import_pilarnet(
    path: str | Path,
    out: str | Path,
    options: ImportOptions = ImportOptions(),
    *,
    shard_events: int | None = None,
    progress: Progress | None = None,
) -> tuple[list[Path], Counts]:
    """Convert a PILArNet-M file into one event file, or a directory of shards.

    Parameters
    ----------
    path : str or Path
        The HDF5 file.
    out : str or Path
        An event file (``*.root``), or a directory that receives ``0.root``, ``1.root``, ...
        of ``shard_events`` events each.
    options : ImportOptions
    shard_events : int or None
        Events per shard in directory mode (None: one ``0.root``).
    progress : Progress or None
        Progress reporter; default one line every 10 s on stderr.

    Returns
    -------
    files : list of Path
        The files written.
    counts : Counts
    """
    path = Path(path)
    out = Path(out)
    counts = Counts()
    with PilarnetFile(path) as h5:
        layout = "v2: cluster_extra, 6-column clusters" if h5.has_extra else "v1: 5-column clusters"
        first = options.first
        if first < 0 or first > h5.num_events:
            raise InputError(
                path, f"first entry {first} is outside the file's {h5.num_events} events"
            )
        stop = h5.num_events if options.events is None else first + options.events
        if stop > h5.num_events:
            raise InputError(
                path,
                f"entries {first}..{stop} asked for, the file holds {h5.num_events} events",
            )
        total = stop - first
        report = progress or Progress(path.name, total)
        meta = _meta(path, options, layout)
        done = 0

        def events(lo: int, hi: int) -> Iterator[Event]:
            nonlocal done
            for raw in h5.iterate(lo, hi, step=options.chunk):
                yield convert_event(path, raw, options, counts)
                done += 1
                report.update(done)

        if out.suffix == ".root":
            ranges = [(first, stop)]
            targets = [out]
        else:
            size = shard_events or max(total, 1)
            ranges = [(lo, min(lo + size, stop)) for lo in range(first, stop, size)] or [
                (first, stop)
            ]
            out.mkdir(parents=True, exist_ok=True)
            targets = [out / f"{i}.root" for i in range(len(ranges))]
        for (lo, hi), target in zip(ranges, targets, strict=True):
            write_events(target, events(lo, hi), meta)
        report.update(done, force=True)
    return targets, counts
