"""The published PILArNet-M HDF5 layout: dataset names, columns, and the per-event reshape.

A file holds variable-length 1D datasets with one entry per event (PoLAr-MAE ``DATASET.md`` and
the PILArNet-M dataset card, docs/open-data.md):

- ``point``: ``N * 8`` values, reshaped to ``(N, 8)``: x, y, z (voxel indices of PILArNet's
  3 mm grid), voxel value (MeV), energy deposit (MeV), absolute time, number of electrons, dx.
- ``cluster``: one row per cluster (fragment), reshaped to ``(M, 5)`` in files without
  ``cluster_extra`` (number of points, fragment ID, group ID, interaction ID, semantic type) and
  to ``(M, 6)`` in files with it (the same plus a particle-ID column).
- ``cluster_extra`` (newer files): ``(M, 5)`` per event, one row per cluster (mass, momentum,
  vertex x, y, z).

Points are stored cluster by cluster: the first ``n_0`` points belong to cluster 0, the next
``n_1`` to cluster 1, and so on, so ``sum(n) == N``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import h5py
import numpy as np

from lartpc_seg.errors import InputError

POINT = "point"
CLUSTER = "cluster"
CLUSTER_EXTRA = "cluster_extra"

#: Values per point row.
POINT_COLUMNS = 8
#: Values per ``cluster_extra`` row.
EXTRA_COLUMNS = 5
#: Values per ``cluster`` row without (v1) and with (v2) the particle-ID column.
CLUSTER_COLUMNS_V1 = 5
CLUSTER_COLUMNS_V2 = 6


class PointColumn(IntEnum):
    """Columns of a ``point`` row."""

    X = 0
    Y = 1
    Z = 2
    VALUE = 3
    ENERGY = 4
    TIME = 5
    ELECTRONS = 6
    DX = 7


class ClusterColumn(IntEnum):
    """Columns of a ``cluster`` row (``PID`` only in files with ``cluster_extra``)."""

    SIZE = 0
    FRAGMENT = 1
    GROUP = 2
    INTERACTION = 3
    SEMANTIC = 4
    PID = 5


class ExtraColumn(IntEnum):
    """Columns of a ``cluster_extra`` row."""

    MASS = 0
    MOMENTUM = 1
    VTX_X = 2
    VTX_Y = 3
    VTX_Z = 4


class Semantic(IntEnum):
    """PILArNet-M semantic types (the later DeepLearnPhysics scheme)."""

    SHOWER = 0
    TRACK = 1
    MICHEL = 2
    DELTA = 3
    LOW_ENERGY = 4


class Pid(IntEnum):
    """PILArNet-M particle-ID classes of the ``cluster`` PID column (-1: none)."""

    NONE = -1
    PHOTON = 0
    ELECTRON = 1
    MUON = 2
    PION = 3
    PROTON = 4


@dataclass
class RawEvent:
    """One event of a PILArNet-M file, reshaped and checked.

    Attributes
    ----------
    entry : int
        Index of the event in the file's datasets.
    points : (N, 8) float64
        The ``point`` rows.
    clusters : (M, 5) or (M, 6) int64
        The ``cluster`` rows.
    extra : (M, 5) float64 or None
        The ``cluster_extra`` rows, None in files without the dataset.
    """

    entry: int
    points: np.ndarray
    clusters: np.ndarray
    extra: np.ndarray | None

    @property
    def has_pid(self) -> bool:
        """Whether the clusters carry the particle-ID column."""
        return self.clusters.shape[1] == CLUSTER_COLUMNS_V2

    def point_cluster(self) -> np.ndarray:
        """Row of ``clusters`` each point belongs to, ``(N,) int64``."""
        sizes = self.clusters[:, ClusterColumn.SIZE]
        return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)


def _flat(path: Path, entry: int, name: str, value: object) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 1 or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise InputError(
            path,
            f"entry is not a 1D numeric array (shape {array.shape}, dtype {array.dtype})",
            event=entry,
            field=name,
        )
    return array


def reshape_event(
    path: Path, entry: int, point: object, cluster: object, extra: object | None
) -> RawEvent:
    """Reshape one event's flat arrays by the published rules and check their lengths.

    Parameters
    ----------
    path : Path
        The file, for messages.
    entry : int
        The event's index in the file.
    point, cluster : 1D arrays
        The event's ``point`` and ``cluster`` entries.
    extra : 1D array or None
        The event's ``cluster_extra`` entry, None when the file has no such dataset.

    Returns
    -------
    RawEvent

    Raises
    ------
    InputError
        Naming the file, the entry and the dataset when a length is not a multiple of the row
        width, the cluster and ``cluster_extra`` rows disagree, a cluster value is not an
        integer or a size is negative, or the cluster sizes do not add up to the points.
    """
    p = _flat(path, entry, POINT, point)
    c = _flat(path, entry, CLUSTER, cluster)
    if len(p) % POINT_COLUMNS:
        raise InputError(
            path, f"{len(p)} values is not a multiple of {POINT_COLUMNS}", event=entry, field=POINT
        )
    if extra is None:
        width = CLUSTER_COLUMNS_V1
        e = None
    else:
        e = _flat(path, entry, CLUSTER_EXTRA, extra)
        if len(e) % EXTRA_COLUMNS:
            raise InputError(
                path,
                f"{len(e)} values is not a multiple of {EXTRA_COLUMNS}",
                event=entry,
                field=CLUSTER_EXTRA,
            )
        n_clusters = len(e) // EXTRA_COLUMNS
        widths = (CLUSTER_COLUMNS_V2, CLUSTER_COLUMNS_V1)
        width = next((w for w in widths if len(c) == w * n_clusters), 0)
        if width == 0:
            raise InputError(
                path,
                f"{len(c)} values do not make {n_clusters} rows of 6 (or 5) for the "
                f"{n_clusters} rows of {CLUSTER_EXTRA}",
                event=entry,
                field=CLUSTER,
            )
        e = e.reshape(n_clusters, EXTRA_COLUMNS).astype(np.float64)
    if len(c) % width:
        raise InputError(
            path, f"{len(c)} values is not a multiple of {width}", event=entry, field=CLUSTER
        )
    as_int = np.rint(c).astype(np.int64) if np.issubdtype(c.dtype, np.floating) else c
    if np.issubdtype(c.dtype, np.floating) and not np.array_equal(as_int, c):
        raise InputError(path, "cluster values must be integers", event=entry, field=CLUSTER)
    clusters = as_int.astype(np.int64).reshape(-1, width)
    points = p.astype(np.float64).reshape(-1, POINT_COLUMNS)
    sizes = clusters[:, ClusterColumn.SIZE]
    if (sizes < 0).any():
        row = int(np.flatnonzero(sizes < 0)[0])
        raise InputError(
            path, f"cluster row {row} has a negative size {sizes[row]}", event=entry, field=CLUSTER
        )
    if int(sizes.sum()) != len(points):
        raise InputError(
            path,
            f"cluster sizes add up to {int(sizes.sum())} points but '{POINT}' holds {len(points)}",
            event=entry,
            field=CLUSTER,
        )
    return RawEvent(entry=entry, points=points, clusters=clusters, extra=e)


class PilarnetFile:
    """A PILArNet-M HDF5 file opened for reading in chunks of events.

    Parameters
    ----------
    path : str or Path

    Raises
    ------
    InputError
        If the file cannot be opened as HDF5, lacks ``point`` or ``cluster``, or its datasets
        hold different numbers of events.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._file = h5py.File(self.path, "r")
        except (OSError, ValueError) as err:
            raise InputError(self.path, f"cannot open as HDF5 ({err})") from err
        names = sorted(self._file.keys())
        for name in (POINT, CLUSTER):
            if name not in self._file:
                self._file.close()
                raise InputError(
                    self.path,
                    f"no dataset '{name}' (found: {', '.join(names) or 'nothing'})",
                    field=name,
                )
        self._datasets = {POINT: self._file[POINT], CLUSTER: self._file[CLUSTER]}
        if CLUSTER_EXTRA in self._file:
            self._datasets[CLUSTER_EXTRA] = self._file[CLUSTER_EXTRA]
        for name, ds in self._datasets.items():
            if not isinstance(ds, h5py.Dataset) or ds.ndim != 1:
                self._file.close()
                raise InputError(self.path, "not a 1D dataset of per-event entries", field=name)
        lengths = {name: len(ds) for name, ds in self._datasets.items()}
        if len(set(lengths.values())) != 1:
            self._file.close()
            listing = ", ".join(f"'{k}' {v}" for k, v in lengths.items())
            raise InputError(
                self.path, f"datasets hold different numbers of events ({listing})", field=CLUSTER
            )
        self.num_events = lengths[POINT]

    @property
    def has_extra(self) -> bool:
        """Whether the file has ``cluster_extra`` (and so 6-column clusters with particle IDs)."""
        return CLUSTER_EXTRA in self._datasets

    def close(self) -> None:
        """Close the HDF5 file."""
        self._file.close()

    def __enter__(self) -> PilarnetFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, start: int, stop: int) -> list[RawEvent]:
        """Read and reshape entries ``start:stop`` (only those are loaded from disk)."""
        stop = min(stop, self.num_events)
        if start >= stop:
            return []
        try:
            chunk = {name: ds[start:stop] for name, ds in self._datasets.items()}
        except OSError as err:
            raise InputError(self.path, f"cannot read entries {start}..{stop} ({err})") from err
        extra = chunk.get(CLUSTER_EXTRA)
        return [
            reshape_event(
                self.path,
                start + i,
                chunk[POINT][i],
                chunk[CLUSTER][i],
                None if extra is None else extra[i],
            )
            for i in range(stop - start)
        ]

    def iterate(
        self, start: int = 0, stop: int | None = None, *, step: int = 64
    ) -> Iterator[RawEvent]:
        """Events ``start:stop`` one by one, reading ``step`` entries at a time."""
        stop = self.num_events if stop is None else min(stop, self.num_events)
        for lo in range(start, stop, step):
            yield from self.read(lo, min(lo + step, stop))
