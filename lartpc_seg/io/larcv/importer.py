"""Events from LArCV2 entries, and the conversion of LArCV2 files into one event file.

Policies (docs/open-data.md):

- Energy and label voxels are joined by voxel id; a voxel present in one tree and not the other
  is an :class:`~lartpc_seg.errors.InputError`, except PILArNet ghost voxels, which are dropped
  from both.
- The event number of the output is the entry index over all inputs in order (LArCV2 event
  numbers repeat across files).
- ``vox_part``: the particle whose ``cluster3d`` voxel set gives the voxel the most energy
  (cluster ``k`` belongs to particle ``k``; extra clusters are ignored). Voxels no cluster covers,
  or every voxel when the cluster tree is absent, take the particle of the voxel's class whose
  start-end segment passes closest to the voxel centre (any particle if none has the class).
- Particle start and end points in voxel units are ``(position - origin) / voxel_length``, so a
  point inside voxel ``i`` has ``i <= u < i + 1``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import yaml

from lartpc_seg.errors import InputError
from lartpc_seg.io.events import Event, ParticleTable, write_events
from lartpc_seg.io.larcv.assignment import assign_by_clusters, assign_by_proximity
from lartpc_seg.io.larcv.leaves import (
    Producers,
    VoxelMeta,
    decode_voxel_ids,
    get_tree,
    read_clusters,
    read_particles,
    read_sparse3d,
    tree_name,
)
from lartpc_seg.io.larcv.particles import EnergyUnit, energy_scale_to_mev, particle_table
from lartpc_seg.io.root import FileMeta, open_root
from lartpc_seg.labels import NUM_CLASSES, from_pilarnet, relabel

LabelScheme = Literal["fivetypes", "pilarnet"]

#: PILArNet's ghost label (voxels that are not real deposits; dropped on import).
PILARNET_GHOST = 5


def join_voxels(
    energy_ids: np.ndarray,
    energy: np.ndarray,
    label_ids: np.ndarray,
    label_values: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Join the energy and label tensors of one entry by voxel id.

    Parameters
    ----------
    energy_ids, energy : (N,) uint64, (N,) float32
    label_ids, label_values : (M,) uint64, (M,) float32

    Returns
    -------
    ids : (K,) uint64
        Sorted voxel ids present in both.
    energy, labels : (K,) float32
        Energy and label values of those voxels.
    energy_only, label_only : arrays of uint64
        Ids present in only one of the two tensors (empty when they match).
    """
    e_order = np.argsort(energy_ids, kind="stable")
    l_order = np.argsort(label_ids, kind="stable")
    e_ids, l_ids = energy_ids[e_order], label_ids[l_order]
    common, e_idx, l_idx = np.intersect1d(e_ids, l_ids, assume_unique=True, return_indices=True)
    energy_only = np.setdiff1d(e_ids, common, assume_unique=True)
    label_only = np.setdiff1d(l_ids, common, assume_unique=True)
    return (
        common,
        energy[e_order][e_idx],
        label_values[l_order][l_idx],
        energy_only,
        label_only,
    )


def _duplicate(ids: np.ndarray) -> int | None:
    s = np.sort(ids)
    dup = np.flatnonzero(s[1:] == s[:-1])
    return int(s[dup[0]]) if dup.size else None


@dataclass(frozen=True)
class ImportOptions:
    """Options of :func:`import_larcv`.

    Attributes
    ----------
    grid : int or None
        Voxels per side of the output cube; default: the first tensor's ``xnum``. Every tensor must
        fit (``xnum, ynum, znum <= grid``).
    labels : {"fivetypes", "pilarnet"}
        Label scheme of the label tensor.
    producers : Producers
    energy_unit : {"auto", "MeV", "GeV"}
        Unit of the particle tree's ``energy_init`` (see :func:`energy_scale_to_mev`).
    step : int
        Entries read at a time.
    """

    grid: int | None = None
    labels: LabelScheme = "fivetypes"
    producers: Producers = field(default_factory=Producers)
    energy_unit: EnergyUnit = "auto"
    step: int = 200


def _labels_to_classes(
    path: Path, entry: int, tree: str, values: np.ndarray, scheme: LabelScheme
) -> np.ndarray:
    n_labels = NUM_CLASSES if scheme == "fivetypes" else PILARNET_GHOST + 1
    as_int = np.rint(values).astype(np.int64)
    bad = (as_int != values) | (as_int < 0) | (as_int >= n_labels)
    if bad.any():
        raise InputError(
            path,
            f"label {values[bad][0]} is not an integer in 0..{n_labels - 1} ({scheme} scheme)",
            event=entry,
            field=tree,
        )
    return as_int.astype(np.int8) if scheme == "fivetypes" else from_pilarnet(as_int)


def _build_event(
    path: Path,
    entry: int,
    number: int,
    energy: tuple[np.ndarray, np.ndarray, VoxelMeta],
    labels: tuple[np.ndarray, np.ndarray],
    particles: ParticleTable,
    clusters: tuple[list[np.ndarray], list[np.ndarray]] | None,
    grid: int,
    options: ImportOptions,
) -> Event:
    """One event from the tensors of LArCV2 entry ``entry`` (errors name the entry)."""
    trees = options.producers
    e_tree = tree_name("sparse3d", trees.energy)
    l_tree = tree_name("sparse3d", trees.labels)
    e_ids, e_values, meta = energy
    l_ids, l_values = labels
    for ids, name in ((e_ids, e_tree), (l_ids, l_tree)):
        dup = _duplicate(ids)
        if dup is not None:
            raise InputError(path, f"voxel id {dup} appears twice", event=entry, field=name)
    if np.any(meta.num > grid):
        raise InputError(
            path,
            f"tensor of {meta.num.tolist()} voxels does not fit the {grid}-voxel grid",
            event=entry,
            field=e_tree,
        )
    classes = _labels_to_classes(path, entry, l_tree, l_values, options.labels)
    real = classes >= 0  # PILArNet ghosts map to -1 and are dropped
    ghost_ids = l_ids[~real]
    keep_e = ~np.isin(e_ids, ghost_ids)
    ids, e, cls, energy_only, label_only = join_voxels(
        e_ids[keep_e], e_values[keep_e], l_ids[real], classes[real].astype(np.float32)
    )
    for only, has, lacks in ((energy_only, e_tree, l_tree), (label_only, l_tree, e_tree)):
        if only.size:
            xyz = decode_voxel_ids(only[:1], meta.num)[0].tolist()
            raise InputError(
                path,
                f"{only.size} voxels of '{has}' are missing from '{lacks}', first id "
                f"{int(only[0])} at (x, y, z) = {tuple(xyz)}",
                event=entry,
                field=lacks,
            )
    bad = ~np.isfinite(e) | (e <= 0)
    if bad.any():
        raise InputError(
            path, f"voxel energy {e[bad][0]} is not positive", event=entry, field=e_tree
        )
    try:
        coords = decode_voxel_ids(ids, meta.num).astype(np.int32)
    except ValueError as err:
        raise InputError(path, str(err), event=entry, field=e_tree) from err
    cls = cls.astype(np.int8)
    if len(ids) and len(particles) == 0:
        raise InputError(
            path,
            "the event has voxels but no particles to attribute them to",
            event=entry,
            field=tree_name("particle", trees.particles),
        )
    part = np.full(len(ids), -1, np.int32)
    if clusters is not None:
        part = assign_by_clusters(ids, clusters[0], clusters[1], len(particles))
    unassigned = part < 0
    if unassigned.any():
        part[unassigned] = assign_by_proximity(coords[unassigned], cls[unassigned], particles)
    return Event(
        event=number,
        coords=coords,
        energy=e.astype(np.float32),
        label=cls,
        relabel=relabel(coords, cls),
        part=part,
        particles=particles,
    )


def _check_aligned(path: Path, name: str, ref: np.ndarray, other: np.ndarray, start: int) -> None:
    bad = np.flatnonzero(np.any(ref != other, axis=1))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            path,
            f"entry holds (run, subrun, event) {tuple(other[i].tolist())}, the energy tree "
            f"{tuple(ref[i].tolist())}",
            event=start + i,
            field=name,
        )


def iterate_larcv(
    path: str | Path, options: ImportOptions, first_number: int = 0
) -> Iterator[Event]:
    """Yield the events of one LArCV2 file, numbered from ``first_number``.

    Parameters
    ----------
    path : str or Path
        A LArCV2 ROOT file with the energy, label and particle trees (cluster tree optional).
    options : ImportOptions
    first_number : int
        Event number of the file's first entry.
    """
    path = Path(path)
    p = options.producers
    file = open_root(path)
    e_tree = get_tree(path, file, tree_name("sparse3d", p.energy))
    l_tree = get_tree(path, file, tree_name("sparse3d", p.labels))
    p_tree = get_tree(path, file, tree_name("particle", p.particles))
    c_name = tree_name("cluster3d", p.clusters)
    c_tree = get_tree(path, file, c_name) if c_name in file else None
    n = e_tree.num_entries
    for tree in (l_tree, p_tree, c_tree):
        if tree is not None and tree.num_entries != n:
            raise InputError(
                path,
                f"{tree.num_entries} entries, the energy tree has {n}",
                field=tree.name,
            )
    _, all_records = read_particles(path, p_tree)
    scale = energy_scale_to_mev(path, all_records, options.energy_unit)
    grid = options.grid
    for start in range(0, n, options.step):
        stop = min(start + options.step, n)
        energy = read_sparse3d(path, e_tree, start, stop)
        labels = read_sparse3d(path, l_tree, start, stop)
        part_ids, records = read_particles(path, p_tree, start, stop)
        _check_aligned(path, l_tree.name, energy.event_id, labels.event_id, start)
        _check_aligned(path, p_tree.name, energy.event_id, part_ids, start)
        clusters = read_clusters(path, c_tree, start, stop) if c_tree is not None else None
        for i in range(stop - start):
            meta = energy.metas[i]
            if grid is None:
                grid = int(meta.num[0])
            yield _build_event(
                path,
                start + i,
                first_number + start + i,
                (energy.ids[i], energy.values[i], meta),
                (labels.ids[i], labels.values[i]),
                particle_table(records[i], meta, scale),
                None if clusters is None else clusters[i],
                grid,
                options,
            )


def _first_meta(path: Path, options: ImportOptions) -> VoxelMeta:
    file = open_root(path)
    tree = get_tree(path, file, tree_name("sparse3d", options.producers.energy))
    if tree.num_entries == 0:
        raise InputError(path, "the energy tree has no entries", field=tree.name)
    return read_sparse3d(path, tree, 0, 1).metas[0]


def import_larcv(
    inputs: Sequence[str | Path], out: str | Path, options: ImportOptions = ImportOptions()
) -> int:
    """Convert LArCV2 files to one event file, atomically.

    Parameters
    ----------
    inputs : sequence of paths
        LArCV2 ROOT files, read in order; event numbers run over all of them from 0.
    out : path
        The event file to write.
    options : ImportOptions

    Returns
    -------
    int
        Number of events written.
    """
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise InputError(None, "no input files")
    meta0 = _first_meta(inputs[0], options)
    size = meta0.size_cm
    if not np.allclose(size, size[0], rtol=1e-6):
        raise InputError(inputs[0], f"voxels are not cubes: {size.tolist()} cm", field="_meta")
    grid = options.grid if options.grid is not None else int(meta0.num[0])
    options = ImportOptions(
        grid=grid,
        labels=options.labels,
        producers=options.producers,
        energy_unit=options.energy_unit,
        step=options.step,
    )
    counts = []
    for path in inputs:
        file = open_root(path)
        counts.append(get_tree(path, file, tree_name("sparse3d", options.producers.energy)))
    firsts = np.concatenate([[0], np.cumsum([t.num_entries for t in counts])])

    def events() -> Iterator[Event]:
        for path, first in zip(inputs, firsts[:-1], strict=True):
            yield from iterate_larcv(path, options, int(first))

    config = yaml.safe_dump(
        {
            "import_larcv": {
                "inputs": [str(p) for p in inputs],
                "grid": grid,
                "labels": options.labels,
                "producers": vars(options.producers),
                "energy_unit": options.energy_unit,
            }
        },
        sort_keys=False,
    )
    meta = FileMeta(
        grid=grid,
        voxel_mm=float(size[0] * 10.0),
        source="LArCV2 import of " + ", ".join(p.name for p in inputs),
        config=config,
    )
    return write_events(out, events(), meta)
