"""Event files (docs/event-format.md): the TTree ``events`` and the one-entry TTree ``meta``.

Files are written with ``uproot.recreate(...).mktree`` in chunks (TTrees, ZSTD) and read back
per range of entries, so a file never has to fit in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import awkward as ak
import numpy as np

from lartpc_seg.errors import InputError
from lartpc_seg.io.digest import CONTENT_FIELD, check_content, recorded_content_digest
from lartpc_seg.io.root import (
    FileMeta,
    TreeFile,
    content_digest,
    open_root,
    read_arrays,
    structure_problems,
    write_tree_file,
)
from lartpc_seg.io.validate import event_problems

EVENTS_TREE = "events"

#: Per-voxel fields: name in the file (without the ``vox_`` prefix) → dtype.
VOXEL_FIELDS: dict[str, np.dtype] = {
    "x": np.dtype(np.int32),
    "y": np.dtype(np.int32),
    "z": np.dtype(np.int32),
    "e": np.dtype(np.float32),
    "label": np.dtype(np.int8),
    "relabel": np.dtype(np.int8),
    "part": np.dtype(np.int32),
}

#: Per-particle fields: name in the file (without the ``part_`` prefix) → dtype.
PARTICLE_FIELDS: dict[str, np.dtype] = {
    "pdg": np.dtype(np.int32),
    "parent": np.dtype(np.int32),
    "process": np.dtype(np.int8),
    "class": np.dtype(np.int8),
    "ke": np.dtype(np.float32),
    "x": np.dtype(np.float32),
    "y": np.dtype(np.float32),
    "z": np.dtype(np.float32),
    "end_x": np.dtype(np.float32),
    "end_y": np.dtype(np.float32),
    "end_z": np.dtype(np.float32),
    "edep": np.dtype(np.float32),
}

#: Every branch of the ``events`` tree with its element dtype (jagged ones included).
EVENT_BRANCHES: dict[str, np.dtype] = {
    "event": np.dtype(np.int64),
    "nvox": np.dtype(np.int32),
    **{f"vox_{k}": v for k, v in VOXEL_FIELDS.items()},
    "npart": np.dtype(np.int32),
    **{f"part_{k}": v for k, v in PARTICLE_FIELDS.items()},
}


@dataclass
class ParticleTable:
    """The particles of one event, one row each (the ``part_*`` branches).

    Attributes
    ----------
    pdg, parent : (P,) int32
        PDG code; index of the parent particle, -1 for a primary.
    process, cls : (P,) int8
        Creation process code (:class:`~lartpc_seg.labels.Process`); semantic class.
    ke, edep : (P,) float32
        Initial kinetic energy and the energy the particle itself deposited, MeV.
    start, end : (P, 3) float32
        Start and end points, voxel units.
    """

    pdg: np.ndarray
    parent: np.ndarray
    process: np.ndarray
    cls: np.ndarray
    ke: np.ndarray
    start: np.ndarray
    end: np.ndarray
    edep: np.ndarray

    def __len__(self) -> int:
        return len(self.pdg)

    @classmethod
    def empty(cls) -> ParticleTable:
        """A table with no particles."""
        f32 = np.zeros(0, np.float32)
        return cls(
            pdg=np.zeros(0, np.int32),
            parent=np.zeros(0, np.int32),
            process=np.zeros(0, np.int8),
            cls=np.zeros(0, np.int8),
            ke=f32,
            start=np.zeros((0, 3), np.float32),
            end=np.zeros((0, 3), np.float32),
            edep=f32,
        )

    def columns(self) -> dict[str, np.ndarray]:
        """The table as the ``part_*`` branch columns of the file (names without prefix)."""
        return {
            "pdg": self.pdg,
            "parent": self.parent,
            "process": self.process,
            "class": self.cls,
            "ke": self.ke,
            "x": self.start[:, 0],
            "y": self.start[:, 1],
            "z": self.start[:, 2],
            "end_x": self.end[:, 0],
            "end_y": self.end[:, 1],
            "end_z": self.end[:, 2],
            "edep": self.edep,
        }


@dataclass
class Event:
    """One event: its voxels and its particle table.

    Attributes
    ----------
    event : int
        Event number, unique within a file.
    coords : (N, 3) int32
        Voxel indices (x, y, z), each in ``0 <= i < grid``.
    energy : (N,) float32
        Deposited energy per voxel, MeV.
    label, relabel : (N,) int8
        Original and relabeled 5-class labels.
    part : (N,) int32
        Index into ``particles`` of the particle that deposited most of the voxel's energy.
    particles : ParticleTable
    """

    event: int
    coords: np.ndarray
    energy: np.ndarray
    label: np.ndarray
    relabel: np.ndarray
    part: np.ndarray
    particles: ParticleTable = field(default_factory=ParticleTable.empty)

    def __len__(self) -> int:
        return len(self.energy)


def _jagged(arrays: list[np.ndarray], dtype: np.dtype) -> ak.Array:
    counts = np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))
    flat = np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(0, dtype)
    return ak.unflatten(flat, counts)


def _chunk_columns(events: list[Event]) -> dict[str, object]:
    """Columns of one chunk of events, as mktree/extend takes them (records share a counter)."""
    vox = {
        "x": [e.coords[:, 0] for e in events],
        "y": [e.coords[:, 1] for e in events],
        "z": [e.coords[:, 2] for e in events],
        "e": [e.energy for e in events],
        "label": [e.label for e in events],
        "relabel": [e.relabel for e in events],
        "part": [e.part for e in events],
    }
    part_cols = [e.particles.columns() for e in events]
    return {
        "event": np.array([e.event for e in events], np.int64),
        "vox": ak.zip({k: _jagged(v, VOXEL_FIELDS[k]) for k, v in vox.items()}),
        "part": ak.zip(
            {k: _jagged([c[k] for c in part_cols], dt) for k, dt in PARTICLE_FIELDS.items()},
        ),
    }


def write_events(
    path: str | Path,
    events: Iterable[Event],
    meta: FileMeta,
    *,
    chunk_size: int = 100,
    compression_level: int = 5,
) -> int:
    """Write events to a ROOT file atomically, in chunks of ``chunk_size`` entries.

    Parameters
    ----------
    path : str or Path
        Output file; it appears only once complete.
    events : iterable of Event
        Consumed lazily, so a generator keeps memory bounded.
    meta : FileMeta
        Written as the ``meta`` tree, with the content digest of the events added as
        ``content_sha256`` (docs/event-format.md).
    chunk_size : int
        Events per TTree basket.
    compression_level : int
        ZSTD level.

    Returns
    -------
    int
        Number of events written.
    """
    return write_tree_file(
        path,
        EVENTS_TREE,
        EVENT_BRANCHES,
        events,
        _chunk_columns,
        meta,
        chunk_size=chunk_size,
        compression_level=compression_level,
    )


class EventFile(TreeFile):
    """An event file opened for reading by ranges of entries.

    Opening checks the structure (trees, branches and their types) and raises
    :class:`~lartpc_seg.errors.InputError` naming the file and the branch; reading checks the
    content of the events read (see :func:`lartpc_seg.io.validate.event_problems`) and the
    arrays against the file's content digest, whole reads and partial ones alike (see
    :class:`~lartpc_seg.io.root.TreeFile`).

    Parameters
    ----------
    path : str or Path
        The event file.
    """

    TREE = EVENTS_TREE
    BRANCHES = EVENT_BRANCHES
    REMAKE = (
        "remake it with `python -m lartpc_seg simulate --like {path} --out NEW.root` "
        "(an imported file: import it again)"
    )

    def __enter__(self) -> EventFile:
        return self

    def read(self, start: int = 0, stop: int | None = None, *, check: bool = True) -> list[Event]:
        """Read the events of entries ``start:stop``.

        Parameters
        ----------
        start, stop : int
            Entry range (``stop`` defaults to the end of the file).
        check : bool
            Check the content (grid bounds, energies, labels, duplicates, counts) and raise the
            first problem as an :class:`InputError`.

        Returns
        -------
        list of Event
        """
        stop = len(self) if stop is None else min(stop, len(self))
        if start >= stop:
            return []
        arrays = self._arrays(start, stop)
        if check:
            problems = event_problems(self.path, arrays, self.meta.grid, first_only=True)
            if problems:
                raise problems[0]
        return _events_from_arrays(arrays)

    def iterate(self, step: int = 100, *, check: bool = True) -> Iterator[Event]:
        """Yield every event, reading ``step`` entries at a time."""
        for start in range(0, len(self), step):
            yield from self.read(start, start + step, check=check)


def file_problems(path: str | Path, *, step: int = 500) -> list[InputError]:
    """Every problem of an event file (structure, meta, content, content digest).

    The file is read ``step`` entries at a time; its arrays are hashed as they are read and
    compared with the content digest of its ``meta`` at the end. A file without a digest gets
    that problem and its content checked all the same.
    """
    try:
        file = open_root(path)
    except InputError as err:
        return [err]
    with file:
        problems = structure_problems(path, file, EVENTS_TREE, EVENT_BRANCHES)
        try:
            meta = FileMeta.read(path, file)
        except InputError as err:
            problems.append(err)
            return problems
        if problems:
            return problems
        try:
            recorded_content_digest(path, meta.extra, EventFile.REMAKE)
        except InputError as err:
            problems.append(err)
        tree = file[EVENTS_TREE]
        digest = content_digest(EVENT_BRANCHES)
        for start in range(0, tree.num_entries, step):
            try:
                arrays = read_arrays(Path(path), tree, list(EVENT_BRANCHES), start, start + step)
            except InputError as err:
                problems.append(err)
                return problems
            digest.update(arrays)
            problems.extend(event_problems(path, arrays, meta.grid))
        if CONTENT_FIELD in meta.extra:
            try:
                check_content(path, meta.extra, digest, meta.content_bytes())
            except InputError as err:
                problems.append(err)
    return problems


def _flat(arrays: ak.Array, name: str) -> tuple[np.ndarray, np.ndarray]:
    column = arrays[name]
    counts = ak.to_numpy(ak.num(column, axis=1)).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return ak.to_numpy(ak.flatten(column, axis=1)), offsets


def _events_from_arrays(arrays: ak.Array) -> list[Event]:
    vox = {k: _flat(arrays, f"vox_{k}") for k in VOXEL_FIELDS}
    part = {k: _flat(arrays, f"part_{k}") for k in PARTICLE_FIELDS}
    voff = vox["x"][1]
    poff = part["pdg"][1]
    coords = np.stack([vox["x"][0], vox["y"][0], vox["z"][0]], axis=1).astype(np.int32)
    pstart = np.stack([part["x"][0], part["y"][0], part["z"][0]], axis=1)
    pend = np.stack([part["end_x"][0], part["end_y"][0], part["end_z"][0]], axis=1)
    numbers = ak.to_numpy(arrays["event"])
    events = []
    for i, number in enumerate(numbers):
        v = slice(voff[i], voff[i + 1])
        p = slice(poff[i], poff[i + 1])
        events.append(
            Event(
                event=int(number),
                coords=coords[v],
                energy=vox["e"][0][v],
                label=vox["label"][0][v],
                relabel=vox["relabel"][0][v],
                part=vox["part"][0][v],
                particles=ParticleTable(
                    pdg=part["pdg"][0][p],
                    parent=part["parent"][0][p],
                    process=part["process"][0][p],
                    cls=part["class"][0][p],
                    ke=part["ke"][0][p],
                    start=pstart[p],
                    end=pend[p],
                    edep=part["edep"][0][p],
                ),
            )
        )
    return events
