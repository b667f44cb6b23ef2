"""Semantic classes, creation processes, and the Michel relabeling of docs/study.md §2."""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from scipy.spatial import cKDTree

from lartpc_seg.clustering import TOUCH_RADIUS_VOX, dbscan


class Label(IntEnum):
    """The five semantic classes of the study, in the index order of the original data."""

    HIP = 0
    MIP = 1
    SHOWER = 2
    DELTA = 3
    MICHEL = 4

    @property
    def title(self) -> str:
        """The class name as the paper's tables print it."""
        return _TITLES[self]


_TITLES = {
    Label.HIP: "HIP",
    Label.MIP: "MIP",
    Label.SHOWER: "EM shower",
    Label.DELTA: "Delta rays",
    Label.MICHEL: "Michel electrons",
}

NUM_CLASSES = len(Label)


class Process(IntEnum):
    """Creation process codes of the event format (docs/event-format.md), in code order."""

    primary = 0
    Decay = 1
    muMinusCaptureAtRest = 2
    muIoni = 3
    hIoni = 4
    eIoni = 5
    eBrem = 6
    compt = 7
    conv = 8
    phot = 9
    annihil = 10
    nCapture = 11
    hadronic = 12
    other = 13
    #: Appended after the contract's table (codes are never renumbered): Geant4's name for the
    #: process making a μ+ decay electron at rest, a Michel process in docs/study.md §1.
    muPlusCaptureAtRest = 14


#: The ``processes`` string of the ``meta`` tree: process names in code order.
PROCESS_NAMES = ",".join(p.name for p in Process)

_SHOWER_PROCESSES = {Process.primary, Process.conv, Process.compt, Process.nCapture}
_DELTA_PROCESSES = {Process.muIoni, Process.hIoni}
#: Processes whose electron is a Michel electron (docs/study.md §1). A μ+ is never captured by a
#: nucleus (it is repelled): Geant4's ``muPlusCaptureAtRest`` is its process at rest, and the
#: positron it makes is the decay (Michel) positron, so it belongs here with ``Decay`` and the
#: bound decay of a μ− (``muMinusCaptureAtRest``, whose electron is the Michel one when the μ−
#: decays rather than being captured).
MICHEL_PROCESSES = (Process.Decay, Process.muMinusCaptureAtRest, Process.muPlusCaptureAtRest)


def particle_class(pdg: int, process: Process | None) -> Label | None:
    """Semantic class of one particle by the rule of docs/study.md §1.

    Parameters
    ----------
    pdg : int
        PDG code of the particle.
    process : Process or None
        How the particle was created.

    Returns
    -------
    Label or None
        The particle's own class, or ``None`` for an electron made by a process the rule does
        not name (``eIoni``, ``eBrem``, ...): such a particle inherits its ancestor's class.
    """
    apdg = abs(int(pdg))
    if apdg == 2212:
        return Label.HIP
    if apdg == 22:
        return Label.SHOWER
    if apdg != 11:
        return Label.MIP
    if process in _SHOWER_PROCESSES:
        return Label.SHOWER
    if process in _DELTA_PROCESSES:
        return Label.DELTA
    if process in MICHEL_PROCESSES:
        return Label.MICHEL
    return None


#: PILArNet / SPINE label order (0 shower, 1 track, 2 Michel, 3 delta, 4 low energy, 5 ghost)
#: mapped to this study's classes; -1 marks a voxel with no counterpart (ghost).
_PILARNET_TO_LABEL = np.array(
    [Label.SHOWER, Label.MIP, Label.MICHEL, Label.DELTA, Label.SHOWER, -1], dtype=np.int8
)


def from_pilarnet(labels: np.ndarray) -> np.ndarray:
    """Map PILArNet/SPINE semantic labels to the study's five classes.

    PILArNet has no HIP class: its track class maps to MIP, low-energy deposits to shower and
    ghosts to -1 (callers drop them).

    Parameters
    ----------
    labels : (N,) integer array
        PILArNet labels 0..5.

    Returns
    -------
    (N,) int8 array
    """
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(_PILARNET_TO_LABEL)):
        raise ValueError(
            f"PILArNet labels must lie in 0..{len(_PILARNET_TO_LABEL) - 1}, "
            f"got {labels.min()}..{labels.max()}"
        )
    return _PILARNET_TO_LABEL[labels.astype(np.int64)]


def relabel(coords: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Relabel one event so that only primary ionisation is Michel (docs/study.md §2).

    DBSCAN(ε = 2√2 voxels, min_samples = 1) clusters the delta voxels and the Michel voxels
    separately; a cluster keeps its label only when its closest voxel lies within ε of a track
    (HIP or MIP) voxel, otherwise all its voxels become shower. An event without track voxels
    turns every delta and Michel voxel into shower.

    Parameters
    ----------
    coords : (N, 3) integer array
        Voxel indices of the event.
    labels : (N,) integer array
        Original 5-class labels (``vox_label``).

    Returns
    -------
    (N,) int8 array
        The relabeled classes (``vox_relabel``).
    """
    coords = np.asarray(coords)
    labels = np.asarray(labels)
    if coords.ndim != 2 or coords.shape[1] != 3 or len(coords) != len(labels):
        raise ValueError(
            f"relabel needs coords of shape (N, 3) and N labels, got {coords.shape} and "
            f"{labels.shape}"
        )
    out = labels.astype(np.int8, copy=True)
    is_track = (labels == Label.HIP) | (labels == Label.MIP)
    if not is_track.any():
        out[(labels == Label.DELTA) | (labels == Label.MICHEL)] = Label.SHOWER
        return out
    track_tree = cKDTree(coords[is_track].astype(np.float64))
    for cls in (Label.DELTA, Label.MICHEL):
        idx = np.flatnonzero(labels == cls)
        if idx.size == 0:
            continue
        cluster = dbscan(coords[idx].astype(np.float64), TOUCH_RADIUS_VOX, 1)
        dist, _ = track_tree.query(coords[idx].astype(np.float64), k=1)
        # A cluster is attached when any of its voxels is within ε of a track voxel.
        n_clusters = cluster.max() + 1
        attached = np.zeros(n_clusters, dtype=bool)
        np.logical_or.at(attached, cluster, dist < TOUCH_RADIUS_VOX)
        out[idx[~attached[cluster]]] = Label.SHOWER
    return out


def relabeled_fraction(
    labels: np.ndarray, relabels: np.ndarray, cls: Label = Label.MICHEL
) -> float:
    """Fraction of voxels of class ``cls`` in ``labels`` that relabeling turned into shower."""
    was = np.asarray(labels) == cls
    n = int(was.sum())
    if n == 0:
        return float("nan")
    return float((np.asarray(relabels)[was] == Label.SHOWER).sum() / n)
