"""LArCV2 trees and leaves read with uproot: sparse tensors, particle sets, clusters.

A LArCV2 tree is ``<type>_<producer>_tree`` holding one split branch
``<type>_<producer>_branch``. uproot reads the split leaves by name: the event id
(``_run``, ``_subrun``, ``_event``), a sparse tensor's voxels (``_voxel_v._id`` uint64,
``_voxel_v._value`` float32) and its meta (``_meta._xnum`` ..., voxel lengths ``_meta._xlen`` ...,
origin ``_meta._p1.x`` ... or ``_meta._xmin`` ... in older files), a particle set's columns
(``_part_v._pdg``, ``_part_v._trackid``, ...). Leaves are found by their leaf name wherever the
split put them, so the base-class groups (``larcv::EventBase``, ``larcv::ParticleSet``) do not
matter. A voxel id is ``z * (xnum * ynum) + y * xnum + x``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from lartpc_seg.errors import InputError

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


def get_tree(path: Path, file: uproot.ReadOnlyDirectory, name: str) -> uproot.TTree:
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


def read_clusters(
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
