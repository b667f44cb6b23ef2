"""PILArNet-M semantic types and particle IDs to the study's five classes, per cluster.

Mapping (docs/open-data.md, "PILArNet-M"):

==================  =========================================================================
PILArNet-M type     study class
==================  =========================================================================
0 shower            shower
1 track             HIP if the particle ID is proton; MIP if muon or pion (``tracks="pid"``,
                    files with the PID column); any other PID on a track is ``other_tracks``
                    (default: an error). ``tracks="MIP"`` labels every track MIP (files without
                    PIDs have no HIP class then).
2 Michel            Michel
3 delta             delta
4 low energy        ``low_energy``: shower (default, as the 2019 labels, which had no such
                    class), or dropped
==================  =========================================================================

Any other semantic type is an error naming the file, the event and the cluster row.

**2019 labels** (``labels="2019"``): the 2019 label of a deposit is the class of its ancestor
category (a Michel electron's bremsstrahlung photons and their Compton electrons are Michel). The
file's group ID collects a particle with the showers it started. In a group led by a Michel
cluster (its fragment ID is the group ID), every shower, low-energy and delta cluster becomes
Michel; in a group led by a delta cluster, every shower and low-energy cluster becomes delta.
Tracks keep their class, and a Michel or delta cluster that does not lead its group changes
nothing (the group is then not the electron's own). ``labels="fragment"`` keeps each cluster's
own class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from lartpc_seg.errors import InputError
from lartpc_seg.io.events import ParticleTable
from lartpc_seg.io.pilarnet.layout import (
    CLUSTER,
    ClusterColumn,
    ExtraColumn,
    Pid,
    RawEvent,
    Semantic,
)
from lartpc_seg.labels import Label, Process

LowEnergy = Literal["shower", "drop"]
Tracks = Literal["pid", "MIP"]
OtherTracks = Literal["error", "MIP", "HIP"]
LabelStyle = Literal["2019", "fragment"]

#: Class of each non-track semantic type (the track class depends on the particle ID).
_DIRECT = {
    Semantic.SHOWER: Label.SHOWER,
    Semantic.MICHEL: Label.MICHEL,
    Semantic.DELTA: Label.DELTA,
    Semantic.LOW_ENERGY: Label.SHOWER,
}

#: Track class by particle ID.
_TRACK_BY_PID = {Pid.PROTON: Label.HIP, Pid.MUON: Label.MIP, Pid.PION: Label.MIP}

#: PDG code by particle ID (the sign is not in the file; 0 for none).
PDG_BY_PID = {
    Pid.NONE: 0,
    Pid.PHOTON: 22,
    Pid.ELECTRON: 11,
    Pid.MUON: 13,
    Pid.PION: 211,
    Pid.PROTON: 2212,
}


@dataclass(frozen=True)
class LabelOptions:
    """How clusters become classes.

    Attributes
    ----------
    low_energy : {"shower", "drop"}
        What the low-energy scatters become; ``drop`` removes their points.
    tracks : {"pid", "MIP"}
        ``pid``: HIP or MIP from the particle-ID column (refused for files without it);
        ``MIP``: every track is MIP.
    other_tracks : {"error", "MIP", "HIP"}
        Class of a track whose particle ID is neither proton, muon nor pion (``tracks="pid"``).
    labels : {"2019", "fragment"}
        ``2019`` rebuilds the original labels through the group IDs; ``fragment`` keeps each
        cluster's own class.
    """

    low_energy: LowEnergy = "shower"
    tracks: Tracks = "pid"
    other_tracks: OtherTracks = "error"
    labels: LabelStyle = "2019"


def cluster_classes(path: Path, event: RawEvent, options: LabelOptions) -> np.ndarray:
    """Each cluster's own study class ``(M,) int8``.

    Raises
    ------
    InputError
        For a semantic type outside 0..4, a file without particle IDs under ``tracks="pid"``,
        or (``other_tracks="error"``) a track whose particle ID is not proton, muon or pion.
    """
    semantic = event.clusters[:, ClusterColumn.SEMANTIC]
    known = np.isin(semantic, [int(s) for s in Semantic])
    if not known.all():
        row = int(np.flatnonzero(~known)[0])
        raise InputError(
            path,
            f"cluster row {row} has semantic type {semantic[row]}, not one of 0 shower, 1 track, "
            "2 Michel, 3 delta, 4 low energy",
            event=event.entry,
            field=CLUSTER,
        )
    out = np.full(len(semantic), -1, np.int8)
    for sem, cls in _DIRECT.items():
        out[semantic == sem] = cls
    is_track = semantic == Semantic.TRACK
    if not is_track.any():
        return out
    if options.tracks == "MIP":
        out[is_track] = Label.MIP
        return out
    if not event.has_pid:
        raise InputError(
            path,
            "tracks cannot be split into HIP and MIP: the file's clusters have no particle-ID "
            "column (5 columns per cluster); pass --tracks MIP to label every track MIP",
            event=event.entry,
            field=CLUSTER,
        )
    pid = event.clusters[:, ClusterColumn.PID]
    for p, cls in _TRACK_BY_PID.items():
        out[is_track & (pid == p)] = cls
    other = is_track & (out < 0)
    if other.any():
        if options.other_tracks == "error":
            row = int(np.flatnonzero(other)[0])
            raise InputError(
                path,
                f"cluster row {row} is a track with particle ID {pid[row]} (not proton, muon or "
                "pion): no class for it; pass --other-tracks MIP or HIP to choose one",
                event=event.entry,
                field=CLUSTER,
            )
        out[other] = Label[options.other_tracks]
    return out


def deposit_classes(event: RawEvent, own: np.ndarray, labels: LabelStyle) -> np.ndarray:
    """The class each cluster's deposits carry: its own, or the 2019 class through its group.

    Parameters
    ----------
    event : RawEvent
    own : (M,) int8
        Each cluster's own class (:func:`cluster_classes`).
    labels : {"2019", "fragment"}

    Returns
    -------
    (M,) int8
    """
    out = own.copy()
    if labels == "fragment" or len(own) == 0:
        return out
    group = event.clusters[:, ClusterColumn.GROUP]
    semantic = event.clusters[:, ClusterColumn.SEMANTIC]
    valid = group >= 0
    leads = valid & (event.clusters[:, ClusterColumn.FRAGMENT] == group)
    soft = (semantic == Semantic.SHOWER) | (semantic == Semantic.LOW_ENERGY)
    michel_groups = np.unique(group[leads & (semantic == Semantic.MICHEL)])
    delta_groups = np.unique(group[leads & (semantic == Semantic.DELTA)])
    in_delta = valid & np.isin(group, delta_groups) & soft
    out[in_delta] = Label.DELTA
    in_michel = valid & np.isin(group, michel_groups) & (soft | (semantic == Semantic.DELTA))
    out[in_michel] = Label.MICHEL
    return out


def kinetic_energy_mev(event: RawEvent) -> np.ndarray:
    """Initial kinetic energy per cluster, MeV, from ``cluster_extra``; NaN where unknown.

    ``cluster_extra`` holds the mass in MeV and the momentum in GeV/c (units read off the
    published sample rows, docs/open-data.md); ``ke = sqrt(p² + m²) − m``. Rows with a negative
    mass or momentum (the low-energy cluster's -1) and files without ``cluster_extra`` give NaN.
    """
    n = len(event.clusters)
    if event.extra is None:
        return np.full(n, np.nan, np.float32)
    mass = event.extra[:, ExtraColumn.MASS]
    p_mev = event.extra[:, ExtraColumn.MOMENTUM] * 1000.0
    ke = np.sqrt(p_mev**2 + mass**2) - mass
    return np.where((mass >= 0) & (p_mev >= 0), ke, np.nan).astype(np.float32)


def particle_table(event: RawEvent, own: np.ndarray, edep: np.ndarray) -> ParticleTable:
    """One particle row per cluster.

    ``pdg`` from the particle ID (0 without one; the sign is not in the file); ``parent`` the row
    of the group's first cluster (the cluster whose fragment ID equals the group ID), -1 for that
    cluster itself, for clusters without a group and when the group's first cluster is not in the
    event; ``process`` ``Decay`` for Michel clusters (PILArNet's Michel type is the electron of
    a muon decay) and ``other`` for the rest (the file records no process); ``cls`` the
    cluster's own class; ``ke`` from :func:`kinetic_energy_mev`; start and end points NaN (the
    file's vertex is in a frame the points do not share); ``edep`` the cluster's summed energy.

    Parameters
    ----------
    event : RawEvent
    own : (M,) int8
        Each cluster's own class.
    edep : (M,) float
        Energy of each cluster's points, MeV.
    """
    n = len(event.clusters)
    fragment = event.clusters[:, ClusterColumn.FRAGMENT]
    group = event.clusters[:, ClusterColumn.GROUP]
    parent = np.full(n, -1, np.int32)
    if n:
        order = np.argsort(fragment, kind="stable")
        pos = np.clip(np.searchsorted(fragment[order], group), 0, n - 1)
        found = (fragment[order][pos] == group) & (group >= 0)
        leader = np.where(found, order[pos], -1)
        child = found & (leader != np.arange(n))
        parent[child] = leader[child]
    if event.has_pid:
        pid = event.clusters[:, ClusterColumn.PID]
        pdg = np.array([PDG_BY_PID.get(int(p), 0) for p in pid], np.int32)
    else:
        pdg = np.zeros(n, np.int32)
    semantic = event.clusters[:, ClusterColumn.SEMANTIC]
    process = np.where(semantic == Semantic.MICHEL, Process.Decay, Process.other).astype(np.int8)
    nan3 = np.full((n, 3), np.nan, np.float32)
    return ParticleTable(
        pdg=pdg,
        parent=parent,
        process=process,
        cls=own.astype(np.int8),
        ke=kinetic_energy_mev(event),
        start=nan3,
        end=nan3.copy(),
        edep=np.asarray(edep, np.float32),
    )
