"""The event format's particle table from LArCV2 particle records: MeV, parents, classes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from lartpc_seg.ancestry import nearest_ancestor
from lartpc_seg.constants import MASS_BY_PDG_MEV
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import ParticleTable
from lartpc_seg.io.larcv.leaves import ParticleRecords, VoxelMeta
from lartpc_seg.labels import Label, Process, particle_class

EnergyUnit = Literal["auto", "MeV", "GeV"]

#: LArCV2's invalid track id (``kINVALID_UINT``), used for a missing parent.
INVALID_TRACK_ID = np.uint32(0xFFFFFFFF)


def rest_mass_mev(pdg: np.ndarray, energy_mev: np.ndarray, momentum_mev: np.ndarray) -> np.ndarray:
    """Rest mass per particle, MeV: ``MASS_BY_PDG_MEV`` or the invariant mass of (E, p).

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
    known = np.array([MASS_BY_PDG_MEV.get(int(a), np.nan) for a in apdg], np.float64)
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
    mass = np.array([MASS_BY_PDG_MEV.get(int(a), np.nan) for a in pdg])
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
    source = nearest_ancestor(parent, own >= 0)
    cls = np.where(source >= 0, own[np.maximum(source, 0)], -1)
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
