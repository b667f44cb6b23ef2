"""Label diagnostics of simulated events: how δ-ray labels and track charge overlap.

Each figure is computed for two label rules on the same deposits: the rule of the simulator
(``priority`` on true deposit positions, see :mod:`~lartpc_seg.simulation.voxelize`) and the
footprint rule it replaced (the highest class among every particle whose spread charge reached
the voxel), so a change of rule is measured on identical events.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy.spatial import cKDTree

from lartpc_seg.constants import VOXEL_CM
from lartpc_seg.labels import Label
from lartpc_seg.simulation.composition import compose_event
from lartpc_seg.simulation.config import SimulationConfig
from lartpc_seg.simulation.event import event_rng, transport_primaries, voxelize_deposits

_TRACK = (Label.HIP, Label.MIP)


def _event_counts(config: SimulationConfig, seed: int, number: int) -> dict[str, float]:
    rng = event_rng(seed, number)
    deposits, store = transport_primaries(config, rng, compose_event(config, rng))
    vox = voxelize_deposits(config, rng, deposits, store)
    part_label = store.label[: store.n]
    grid = config.grid
    n = len(vox.coords)

    footprint = np.full(n, -1, np.int64)
    np.maximum.at(footprint, vox.pair_voxel, part_label[vox.pair_part].astype(np.int64))
    track_pair = np.isin(part_label[vox.pair_part], _TRACK)
    track_charge = np.bincount(vox.pair_voxel[track_pair], vox.pair_energy[track_pair], n)
    total_charge = np.bincount(vox.pair_voxel, vox.pair_energy, n)
    holds_track = track_charge > 0
    mostly_track = track_charge > 0.5 * total_charge

    # true deposit points of the tracks (HIP/MIP deposit label), in voxel units
    points = deposits.points / VOXEL_CM
    on_track = np.isin(part_label[deposits.particle], _TRACK) & (deposits.energy > 0)
    track_points = points[on_track]
    track_idx = np.floor(track_points).astype(np.int64)
    inside = ((track_idx >= 0) & (track_idx < grid)).all(axis=1)
    track_key = (track_idx[inside] @ np.array([grid * grid, grid, 1])).astype(np.int64)
    vox_key = vox.coords.astype(np.int64) @ np.array([grid * grid, grid, 1])
    in_core = np.isin(vox_key, track_key)

    out: dict[str, float] = {}
    for name, label in (("new", vox.label.astype(np.int64)), ("old", footprint)):
        delta = label == Label.DELTA
        out[f"{name}_delta"] = float(delta.sum())
        out[f"{name}_delta_with_track"] = float((delta & holds_track).sum())
        out[f"{name}_delta_core_mostly_track"] = float((delta & in_core & mostly_track).sum())
        mip = label == Label.MIP
        out[f"{name}_mip"] = float(mip.sum())
        if len(track_points) and mip.any():
            dist, _ = cKDTree(track_points).query(vox.coords[mip] + 0.5)
            out[f"{name}_mip_far"] = float((dist > 1.0).sum())
        else:
            out[f"{name}_mip_far"] = 0.0

    # voxels holding a track particle's charge per voxel its true path crosses
    track_particles = np.flatnonzero(np.isin(part_label, _TRACK))
    pair_track = np.isin(vox.pair_part, track_particles)
    out["track_charge_voxels"] = float(pair_track.sum())
    true_pairs = np.unique(
        track_key * (store.n + 1) + deposits.particle[on_track][inside].astype(np.int64)
    )
    out["track_true_voxels"] = float(len(true_pairs))
    return out


def label_overlap_figures(
    config: SimulationConfig, seed: int, numbers: Iterable[int]
) -> dict[str, float]:
    """δ-ray/track overlap figures of events ``numbers`` of seed ``seed``, for both label rules.

    Returns
    -------
    dict
        For ``rule`` in ``new`` (true positions) and ``old`` (spread footprint):
        ``{rule}_delta_with_track`` — fraction of delta voxels that also hold track (HIP/MIP)
        charge; ``{rule}_delta_core_mostly_track`` — fraction of delta voxels that hold a true
        track deposit point and mostly track charge; ``{rule}_mip_far`` — fraction of MIP
        voxels whose centre lies more than one voxel from every true track deposit point.
        ``track_voxels_per_crossed`` — voxels holding a track particle's charge per voxel its
        true path crosses (the same for both rules). ``events``.
    """
    total: dict[str, float] = {}
    n_events = 0
    for k in numbers:
        for key, value in _event_counts(config, seed, k).items():
            total[key] = total.get(key, 0.0) + value
        n_events += 1
    out = {"events": float(n_events)}
    for rule in ("new", "old"):
        delta = max(total[f"{rule}_delta"], 1.0)
        out[f"{rule}_delta_with_track"] = total[f"{rule}_delta_with_track"] / delta
        out[f"{rule}_delta_core_mostly_track"] = total[f"{rule}_delta_core_mostly_track"] / delta
        out[f"{rule}_mip_far"] = total[f"{rule}_mip_far"] / max(total[f"{rule}_mip"], 1.0)
    out["track_voxels_per_crossed"] = total["track_charge_voxels"] / max(
        total["track_true_voxels"], 1.0
    )
    return out
