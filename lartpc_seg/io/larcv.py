"""Import of LArCV2 ROOT files (the DeepLearnPhysics open data) into event files, with uproot only.

A LArCV2 tree is ``<type>_<producer>_tree`` holding one split branch
``<type>_<producer>_branch``. uproot reads the split leaves by name: the event id
(``_run``, ``_subrun``, ``_event``), a sparse tensor's voxels (``_voxel_v._id`` uint64,
``_voxel_v._value`` float32) and its meta (``_meta._xnum`` ..., voxel lengths ``_meta._xlen`` ...,
origin ``_meta._p1.x`` ... or ``_meta._xmin`` ... in older files), a particle set's columns
(``_part_v._pdg``, ``_part_v._trackid``, ...). Leaves are found by their leaf name wherever the
split put them, so the base-class groups (``larcv::EventBase``, ``larcv::ParticleSet``) do not
matter. A voxel id is ``z * (xnum * ynum) + y * xnum + x``.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import awkward as ak
import numpy as np
import uproot
import yaml

from lartpc_seg.constants import (
    ELECTRON_MASS_MEV,
    MUON_MASS_MEV,
    PION0_MASS_MEV,
    PION_MASS_MEV,
    PROTON_MASS_MEV,
)
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import Event, FileMeta, ParticleTable, write_events
from lartpc_seg.io.validate import open_root
from lartpc_seg.labels import NUM_CLASSES, Label, Process, from_pilarnet, particle_class, relabel

LabelScheme = Literal["fivetypes", "pilarnet"]
EnergyUnit = Literal["auto", "MeV", "GeV"]

#: LArCV2's invalid track id (``kINVALID_UINT``), used for a missing parent.
INVALID_TRACK_ID = np.uint32(0xFFFFFFFF)

#: PILArNet's ghost label (voxels that are not real deposits; dropped on import).
PILARNET_GHOST = 5

#: Rest masses, MeV, by |PDG code|: lartpc_seg.constants where it has them; kaons and the neutron
#: from the PDG Review of Particle Physics (R. L. Workman et al., PTEP 2022, 083C01). Other codes
#: (nuclei, ...) use the invariant mass of (energy_init, p).
MASS_MEV: dict[int, float] = {
    11: ELECTRON_MASS_MEV,
    13: MUON_MASS_MEV,
    22: 0.0,
    111: PION0_MASS_MEV,
    211: PION_MASS_MEV,
    130: 497.611,
    310: 497.611,
    311: 497.611,
    321: 493.677,
    2112: 939.56542052,
    2212: PROTON_MASS_MEV,
}

_PARTICLE_LEAVES = {
    "pdg": "_pdg",
    "trackid": "_trackid",
    "parent_trackid": "_parent_trackid",
    "process": "_process",
    "energy_init": "_energy_init",
    "energy_deposit": "_energy_deposit",
    "px": "_px",
    "py": "_py",
    "pz": "_pz",
    "vtx_x": "_vtx._x",
    "vtx_y": "_vtx._y",
    "vtx_z": "_vtx._z",
    "end_x": "_end_pt._x",
    "end_y": "_end_pt._y",
    "end_z": "_end_pt._z",
}


def tree_name(kind: str, producer: str) -> str:
    """The LArCV2 tree name ``<kind>_<producer>_tree``, e.g. ``sparse3d_data_tree``."""
    return f"{kind}_{producer}_tree"


@dataclass(frozen=True)
class Producers:
    """The LArCV2 producers to read (``<type>_<producer>_tree``).

    Attributes
    ----------
    energy, labels : str
        ``sparse3d`` producers of the voxel energies (MeV) and the semantic labels.
    particles : str
        ``particle`` producer of the particle table.
    clusters : str
        ``cluster3d`` producer of the per-particle voxel sets (optional in the file).
    """

    energy: str = "data"
    labels: str = "fivetypes"
    particles: str = "mcst"
    clusters: str = "mcst"


@dataclass
class VoxelMeta:
    """The geometry of one sparse tensor (LArCV2 ``Voxel3DMeta``).

    Attributes
    ----------
    num : (3,) int64
        Voxels along x, y, z.
    origin_cm : (3,) float64
        Lower corner of the voxelised volume, cm.
    size_cm : (3,) float64
        Voxel lengths, cm.
    """

    num: np.ndarray
    origin_cm: np.ndarray
    size_cm: np.ndarray

    def to_voxel_units(self, points_cm: np.ndarray) -> np.ndarray:
        """Positions ``(P, 3)`` in cm to voxel units ``(P, 3) float32`` (voxel i spans [i, i+1))."""
        return ((np.asarray(points_cm, np.float64) - self.origin_cm) / self.size_cm).astype(
            np.float32
        )


def decode_voxel_ids(ids: np.ndarray, num: Sequence[int]) -> np.ndarray:
    """Voxel indices of LArCV2 voxel ids, ``id = z * (xnum * ynum) + y * xnum + x``.

    Parameters
    ----------
    ids : (N,) unsigned integer array
        LArCV2 voxel ids.
    num : (3,) ints
        ``(xnum, ynum, znum)`` of the tensor's meta.

    Returns
    -------
    (N, 3) int64 array
        ``(x, y, z)`` of each voxel.

    Raises
    ------
    ValueError
        If an id does not lie in the volume (``id >= xnum * ynum * znum``).
    """
    nx, ny, nz = (int(n) for n in num)
    ids = np.asarray(ids, dtype=np.uint64)
    if ids.size and int(ids.max()) >= nx * ny * nz:
        raise ValueError(
            f"voxel id {int(ids.max())} is outside the {nx}x{ny}x{nz} volume "
            f"(ids must be < {nx * ny * nz})"
        )
    ids = ids.astype(np.int64)
    return np.stack([ids % nx, (ids // nx) % ny, ids // (nx * ny)], axis=1)


def encode_voxel_ids(coords: np.ndarray, num: Sequence[int]) -> np.ndarray:
    """Inverse of :func:`decode_voxel_ids`: ``(N, 3)`` indices to ``(N,) uint64`` ids."""
    nx, ny, _ = (int(n) for n in num)
    c = np.asarray(coords, dtype=np.uint64)
    return c[:, 2] * np.uint64(nx * ny) + c[:, 1] * np.uint64(nx) + c[:, 0]


def _find_leaf(path: Path, tree: uproot.TTree, prefix: str, names: Sequence[str]) -> str:
    """Full key of the leaf named ``<prefix>.<name>`` (or ``<name>`` when no prefix)."""
    keys = tree.keys(recursive=True)
    for name in names:
        wanted = f"{prefix}.{name}" if prefix else name
        hits = [k for k in keys if k.rsplit("/", 1)[-1] == wanted]
        if not hits and prefix:
            # A member's base class may add a level: "_meta.larcv::BBox3D._p1.x".
            hits = [
                k
                for k in keys
                if k.rsplit("/", 1)[-1].startswith(prefix + ".")
                and k.rsplit("/", 1)[-1].endswith("." + name)
            ]
        if hits:
            return min(hits, key=len)
    wanted = " or ".join(f"{prefix}.{n}" if prefix else n for n in names)
    raise InputError(path, f"TTree '{tree.name}' has no leaf {wanted}", field=tree.name)


def _read_leaf(
    path: Path, tree: uproot.TTree, prefix: str, names: Sequence[str], start: int, stop: int
) -> ak.Array:
    key = _find_leaf(path, tree, prefix, names)
    try:
        return tree[key].array(entry_start=start, entry_stop=stop, library="ak")
    except Exception as err:  # uproot raises many types for an unreadable leaf
        raise InputError(path, f"cannot read leaf ({err})", field=f"{tree.name}/{key}") from err


def _get_tree(path: Path, file: uproot.ReadOnlyDirectory, name: str) -> uproot.TTree:
    if name not in file or not isinstance(file[name], uproot.TTree):
        found = ", ".join(sorted({k.split(";")[0] for k in file.keys()})) or "nothing"
        raise InputError(path, f"no TTree '{name}' in the file (found: {found})", field=name)
    return file[name]


@dataclass
class SparseBlock:
    """The sparse tensors of a range of entries of one ``sparse3d`` tree.

    Attributes
    ----------
    event_id : (E, 3) int64
        LArCV2 ``(run, subrun, event)`` of each entry.
    ids : list of (N_i,) uint64
        Voxel ids of each entry.
    values : list of (N_i,) float32
        Voxel values of each entry.
    metas : list of VoxelMeta
    """

    event_id: np.ndarray
    ids: list[np.ndarray]
    values: list[np.ndarray]
    metas: list[VoxelMeta]


def _event_ids(path: Path, tree: uproot.TTree, start: int, stop: int) -> np.ndarray:
    cols = [
        ak.to_numpy(_read_leaf(path, tree, "", [n], start, stop)).astype(np.int64)
        for n in ("_run", "_subrun", "_event")
    ]
    return np.stack(cols, axis=1)


def read_sparse3d(path: Path, tree: uproot.TTree, start: int, stop: int) -> SparseBlock:
    """Read entries ``start:stop`` of a LArCV2 ``sparse3d`` tree.

    Parameters
    ----------
    path : Path
        The file, for messages.
    tree : uproot.TTree
        A ``sparse3d_<producer>_tree``.
    start, stop : int
        Entry range.
    """
    ids = _read_leaf(path, tree, "_voxel_v", ["_id"], start, stop)
    values = _read_leaf(path, tree, "_voxel_v", ["_value"], start, stop)
    num = [
        ak.to_numpy(_read_leaf(path, tree, "_meta", [f"_{a}num"], start, stop)).astype(np.int64)
        for a in "xyz"
    ]
    size = [
        ak.to_numpy(_read_leaf(path, tree, "_meta", [f"_{a}len"], start, stop)).astype(np.float64)
        for a in "xyz"
    ]
    origin = [
        ak.to_numpy(_read_leaf(path, tree, "_meta", [f"_p1.{a}", f"_{a}min"], start, stop))
        for a in "xyz"
    ]
    counts = ak.to_numpy(ak.num(ids, axis=1))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    flat_ids = ak.to_numpy(ak.flatten(ids)).astype(np.uint64)
    flat_values = ak.to_numpy(ak.flatten(values)).astype(np.float32)
    if len(flat_values) != len(flat_ids):
        raise InputError(path, "voxel ids and values differ in number", field=tree.name)
    n = len(counts)
    return SparseBlock(
        event_id=_event_ids(path, tree, start, stop),
        ids=[flat_ids[offsets[i] : offsets[i + 1]] for i in range(n)],
        values=[flat_values[offsets[i] : offsets[i + 1]] for i in range(n)],
        metas=[
            VoxelMeta(
                num=np.array([num[0][i], num[1][i], num[2][i]], np.int64),
                origin_cm=np.array([origin[0][i], origin[1][i], origin[2][i]], np.float64),
                size_cm=np.array([size[0][i], size[1][i], size[2][i]], np.float64),
            )
            for i in range(n)
        ],
    )


@dataclass
class ParticleRecords:
    """The raw LArCV2 particle columns of one entry, in the tree's units.

    Attributes
    ----------
    pdg : (P,) int32
    trackid, parent_trackid : (P,) uint32
    process : list of str
        Geant4 creation process names.
    energy_init : (P,) float64
        Total initial energy (MeV in ``mcst`` trees; GeV in the generator ``mctruth`` trees).
    energy_deposit : (P,) float64
        Energy the particle deposited, same unit as ``energy_init``.
    momentum_mev : (P, 3) float64
    start_cm, end_cm : (P, 3) float64
    """

    pdg: np.ndarray
    trackid: np.ndarray
    parent_trackid: np.ndarray
    process: list[str]
    energy_init: np.ndarray
    energy_deposit: np.ndarray
    momentum_mev: np.ndarray
    start_cm: np.ndarray
    end_cm: np.ndarray


def read_particles(
    path: Path, tree: uproot.TTree, start: int = 0, stop: int | None = None
) -> tuple[np.ndarray, list[ParticleRecords]]:
    """Read entries ``start:stop`` of a LArCV2 ``particle`` tree.

    Parameters
    ----------
    path : Path
        The file, for messages.
    tree : uproot.TTree
        A ``particle_<producer>_tree``.
    start, stop : int
        Entry range (``stop`` defaults to the end).

    Returns
    -------
    event_id : (E, 3) int64
        ``(run, subrun, event)`` of each entry.
    records : list of ParticleRecords
        One per entry.
    """
    stop = tree.num_entries if stop is None else stop
    cols = {
        k: _read_leaf(path, tree, "_part_v", [leaf], start, stop)
        for k, leaf in _PARTICLE_LEAVES.items()
    }
    counts = ak.to_numpy(ak.num(cols["pdg"], axis=1))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    flat = {k: ak.to_numpy(ak.flatten(v)) for k, v in cols.items() if k != "process"}
    processes = ak.to_list(ak.flatten(cols["process"]))

    def xyz(prefix: str, sl: slice) -> np.ndarray:
        return np.stack([flat[f"{prefix}_{a}"][sl] for a in "xyz"], axis=1).astype(np.float64)

    records = []
    for i in range(len(counts)):
        sl = slice(offsets[i], offsets[i + 1])
        records.append(
            ParticleRecords(
                pdg=flat["pdg"][sl].astype(np.int32),
                trackid=flat["trackid"][sl].astype(np.uint32),
                parent_trackid=flat["parent_trackid"][sl].astype(np.uint32),
                process=[str(p) for p in processes[sl]],
                energy_init=flat["energy_init"][sl].astype(np.float64),
                energy_deposit=flat["energy_deposit"][sl].astype(np.float64),
                momentum_mev=np.stack(
                    [flat["px"][sl], flat["py"][sl], flat["pz"][sl]], axis=1
                ).astype(np.float64),
                start_cm=xyz("vtx", sl),
                end_cm=xyz("end", sl),
            )
        )
    return _event_ids(path, tree, start, stop), records


def rest_mass_mev(pdg: np.ndarray, energy_mev: np.ndarray, momentum_mev: np.ndarray) -> np.ndarray:
    """Rest mass per particle, MeV: :data:`MASS_MEV` or the invariant mass of (E, p).

    Parameters
    ----------
    pdg : (P,) int
    energy_mev : (P,) float
        Total energy, MeV.
    momentum_mev : (P, 3) float
    """
    apdg = np.abs(np.asarray(pdg, np.int64))
    p2 = np.sum(np.asarray(momentum_mev, np.float64) ** 2, axis=1)
    invariant = np.sqrt(np.clip(np.asarray(energy_mev, np.float64) ** 2 - p2, 0.0, None))
    known = np.array([MASS_MEV.get(int(a), np.nan) for a in apdg], np.float64)
    return np.where(np.isnan(known), invariant, known)


def energy_scale_to_mev(path: Path, records: Sequence[ParticleRecords], unit: EnergyUnit) -> float:
    """Factor turning ``energy_init`` into MeV: 1 (MeV) or 1000 (GeV).

    ``auto`` compares ``energy_init`` with ``sqrt(p² + m²)`` (momenta are MeV in every LArCV2
    particle tree) over the particles of known mass with ``p > 0``; the median ratio must be
    within 2 % of 1 or of 1000. With no such particle the unit is MeV.
    """
    if unit != "auto":
        return 1.0 if unit == "MeV" else 1000.0
    if not records:
        return 1.0
    pdg = np.abs(np.concatenate([r.pdg for r in records]).astype(np.int64))
    e = np.concatenate([r.energy_init for r in records])
    p = np.linalg.norm(np.concatenate([r.momentum_mev for r in records]), axis=1)
    mass = np.array([MASS_MEV.get(int(a), np.nan) for a in pdg])
    ok = ~np.isnan(mass) & (p > 0) & (e > 0)
    if not ok.any():
        return 1.0
    ratio = float(np.median(np.sqrt(p[ok] ** 2 + mass[ok] ** 2) / e[ok]))
    for scale in (1.0, 1000.0):
        if abs(ratio / scale - 1.0) < 0.02:
            return scale
    raise InputError(
        path,
        f"energy_init is neither MeV nor GeV: median sqrt(p²+m²)/energy_init = {ratio:.4g}; "
        "pass the unit explicitly",
        field="_part_v._energy_init",
    )


def process_codes(names: Sequence[str]) -> np.ndarray:
    """Creation-process names to :class:`Process` codes ``(P,) int8`` (unknown → ``other``)."""
    codes = {p.name: p for p in Process}
    return np.array([codes.get(n, Process.other) for n in names], dtype=np.int8)


def parent_indices(trackid: np.ndarray, parent_trackid: np.ndarray) -> np.ndarray:
    """Index of each particle's parent in the table, -1 for a primary or a parent not stored.

    A particle is primary when its parent track id is invalid (``0xFFFFFFFF``) or its own track
    id (LArSoft ``MCTrack``/``MCShower`` mark primaries so). Duplicate track ids resolve to the
    first row holding them.

    Parameters
    ----------
    trackid, parent_trackid : (P,) uint32

    Returns
    -------
    (P,) int32
    """
    trackid = np.asarray(trackid, np.uint32)
    parent_trackid = np.asarray(parent_trackid, np.uint32)
    order = np.argsort(trackid, kind="stable")
    sorted_ids = trackid[order]
    pos = np.clip(np.searchsorted(sorted_ids, parent_trackid), 0, max(len(order) - 1, 0))
    found = (sorted_ids[pos] == parent_trackid) if len(order) else np.zeros(0, dtype=bool)
    primary = (parent_trackid == INVALID_TRACK_ID) | (parent_trackid == trackid)
    out = np.full(len(trackid), -1, np.int32)
    keep = found & ~primary
    out[keep] = order[pos[keep]]
    return out


def particle_classes(pdg: np.ndarray, process: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """Semantic class of each particle, electrons of unnamed processes taking their ancestor's.

    Parameters
    ----------
    pdg : (P,) int
    process : (P,) int8 Process codes
    parent : (P,) int32 parent indices (-1 for none)

    Returns
    -------
    (P,) int8
        A particle whose ancestors carry no class either (an orphaned ``eIoni`` electron) is
        shower.
    """
    own = np.array(
        [
            -1 if (c := particle_class(int(p), Process(int(q)))) is None else int(c)
            for p, q in zip(pdg, process, strict=True)
        ],
        dtype=np.int64,
    )
    cls = own.copy()
    up = np.asarray(parent, np.int64).copy()
    for _ in range(len(cls)):
        todo = (cls < 0) & (up >= 0)
        if not todo.any():
            break
        cls[todo] = own[up[todo]]
        up[todo] = np.asarray(parent, np.int64)[up[todo]]
    cls[cls < 0] = Label.SHOWER
    return cls.astype(np.int8)


def particle_table(records: ParticleRecords, meta: VoxelMeta, scale_to_mev: float) -> ParticleTable:
    """The event-format particle table of one entry.

    Parameters
    ----------
    records : ParticleRecords
    meta : VoxelMeta
        Geometry for the conversion of positions to voxel units.
    scale_to_mev : float
        Factor turning ``energy_init`` and ``energy_deposit`` into MeV.
    """
    energy = records.energy_init * scale_to_mev
    mass = rest_mass_mev(records.pdg, energy, records.momentum_mev)
    process = process_codes(records.process)
    parent = parent_indices(records.trackid, records.parent_trackid)
    return ParticleTable(
        pdg=records.pdg.astype(np.int32),
        parent=parent,
        process=process,
        cls=particle_classes(records.pdg, process, parent),
        ke=np.clip(energy - mass, 0.0, None).astype(np.float32),
        start=meta.to_voxel_units(records.start_cm),
        end=meta.to_voxel_units(records.end_cm),
        edep=(records.energy_deposit * scale_to_mev).astype(np.float32),
    )


def assign_by_clusters(
    voxel_ids: np.ndarray,
    cluster_ids: Sequence[np.ndarray],
    cluster_values: Sequence[np.ndarray],
    n_particles: int,
) -> np.ndarray:
    """Particle of each voxel from per-particle voxel sets: the one giving it most energy.

    Parameters
    ----------
    voxel_ids : (N,) uint64
        The event's voxel ids.
    cluster_ids, cluster_values : sequences of (M_k,) arrays
        Voxel ids and energies (MeV) of cluster ``k``; cluster ``k`` belongs to particle ``k``.
        Clusters ``k >= n_particles`` are ignored.
    n_particles : int

    Returns
    -------
    (N,) int32
        Particle index, -1 for a voxel no cluster holds.
    """
    voxel_ids = np.asarray(voxel_ids, np.uint64)
    out = np.full(len(voxel_ids), -1, np.int32)
    k = min(len(cluster_ids), n_particles)
    if k == 0 or len(voxel_ids) == 0:
        return out
    ids = np.concatenate([np.asarray(c, np.uint64) for c in cluster_ids[:k]])
    values = np.concatenate([np.asarray(v, np.float64) for v in cluster_values[:k]])
    owner = np.repeat(np.arange(k, dtype=np.int32), [len(c) for c in cluster_ids[:k]])
    order = np.lexsort((-values, ids))  # by id, then by decreasing energy
    ids, owner = ids[order], owner[order]
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[1:] != ids[:-1]
    best_ids, best_owner = ids[first], owner[first]
    pos = np.clip(np.searchsorted(best_ids, voxel_ids), 0, len(best_ids) - 1)
    hit = best_ids[pos] == voxel_ids
    out[hit] = best_owner[pos[hit]]
    return out


def _segment_distance(points: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distances ``(N, P)`` from points ``(N, 3)`` to segments ``start[p] → end[p]``."""
    d = end - start
    len2 = np.sum(d * d, axis=1)
    rel = points[:, None, :] - start[None, :, :]
    t = np.where(len2 > 0, np.sum(rel * d[None], axis=2) / np.where(len2 > 0, len2, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    closest = start[None] + t[..., None] * d[None]
    return np.linalg.norm(points[:, None, :] - closest, axis=2)


def assign_by_proximity(
    coords: np.ndarray, labels: np.ndarray, particles: ParticleTable, *, chunk: int = 4096
) -> np.ndarray:
    """Fallback particle of each voxel: nearest start-end segment among particles of its class.

    Parameters
    ----------
    coords : (N, 3) int
        Voxel indices; the voxel centre is ``coords + 0.5`` in voxel units.
    labels : (N,) int
        The voxels' classes; a voxel whose class no particle has considers every particle.
    particles : ParticleTable
        Must hold at least one particle when ``N > 0``.
    chunk : int
        Voxels per block of the distance matrix (memory ``chunk * P`` floats).

    Returns
    -------
    (N,) int32
    """
    n = len(coords)
    out = np.zeros(n, np.int32)
    if n == 0:
        return out
    start = particles.start.astype(np.float64)
    end = particles.end.astype(np.float64)
    has_class = np.zeros((NUM_CLASSES, len(particles)), dtype=bool)
    has_class[particles.cls.astype(np.int64), np.arange(len(particles))] = True
    allowed = has_class[np.asarray(labels, np.int64)]
    allowed[~allowed.any(axis=1)] = True
    centres = np.asarray(coords, np.float64) + 0.5
    for lo in range(0, n, chunk):
        dist = _segment_distance(centres[lo : lo + chunk], start, end)
        dist[~allowed[lo : lo + chunk]] = np.inf
        out[lo : lo + chunk] = np.argmin(dist, axis=1)
    return out


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
    producers: Producers = Producers()
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


def _read_clusters(
    path: Path, tree: uproot.TTree, start: int, stop: int
) -> list[tuple[list[np.ndarray], list[np.ndarray]]]:
    """Per entry, the clusters' voxel ids and values of a ``cluster3d`` tree.

    The leaf ``_voxel_vv._voxel_v`` is a vector of ``larcv::Voxel`` per cluster, which uproot
    reads through the file's streamers as records with fields ``_id`` and ``_value``.
    """
    voxels = _read_leaf(path, tree, "_voxel_vv", ["_voxel_v"], start, stop)
    if not {"_id", "_value"} <= set(ak.fields(voxels)):
        raise InputError(
            path,
            f"cluster voxels have fields {ak.fields(voxels)}, expected _id and _value",
            field=tree.name,
        )
    out = []
    for entry in voxels:
        ids = [ak.to_numpy(c["_id"]).astype(np.uint64) for c in entry]
        values = [ak.to_numpy(c["_value"]).astype(np.float32) for c in entry]
        out.append((ids, values))
    return out


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
    e_tree = _get_tree(path, file, tree_name("sparse3d", p.energy))
    l_tree = _get_tree(path, file, tree_name("sparse3d", p.labels))
    p_tree = _get_tree(path, file, tree_name("particle", p.particles))
    c_name = tree_name("cluster3d", p.clusters)
    c_tree = _get_tree(path, file, c_name) if c_name in file else None
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
        clusters = _read_clusters(path, c_tree, start, stop) if c_tree is not None else None
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
    tree = _get_tree(path, file, tree_name("sparse3d", options.producers.energy))
    if tree.num_entries == 0:
        raise InputError(path, "the energy tree has no entries", field=tree.name)
    return read_sparse3d(path, tree, 0, 1).metas[0]


def import_larcv(
    inputs: Sequence[str | Path],
    out: str | Path,
    options: ImportOptions = ImportOptions(),
    provenance: dict[str, str] | None = None,
) -> int:
    """Convert LArCV2 files to one event file, atomically.

    Parameters
    ----------
    inputs : sequence of paths
        LArCV2 ROOT files, read in order; event numbers run over all of them from 0.
    out : path
        The event file to write.
    options : ImportOptions
    provenance : dict of str to str, optional
        Further fields of the ``meta`` tree (how the inputs were obtained, e.g. the download's
        URL, digest and whether it was verified).

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
        counts.append(_get_tree(path, file, tree_name("sparse3d", options.producers.energy)))
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
        extra=dict(provenance or {}),
    )
    return write_events(out, events(), meta)
