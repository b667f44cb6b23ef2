"""The Michel energy calibration: fitted on the training split, stored as JSON, applied on test.

The network's Michel candidates do not carry a fixed fraction of the electron's energy: small
ones are often fakes or pieces that gather extra voxels, large ones miss the end of the electron.
A single factor cannot correct that, so the calibration is a *numerical inversion* of the
response: in bins of the true deposited energy E (the Michel electron's own ionisation,
``e_true_edep``) of the matched candidates of the training split, take the median deposited
energy and the median uncalibrated sum R(E); the calibrated energy of a sum r is R⁻¹(r), linear
between the points and scaled by the end points' ratio beyond them. Because R is monotone, the
median calibrated energy in a bin of deposited energy is that bin's median deposited energy.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path

#: Bins of deposited energy the response is measured in, MeV (the Michel endpoint is 52.8 MeV).
FIT_EDGES = np.arange(0.0, 60.1, 5.0)
#: Fewest matched candidates a bin needs to give a point of the response.
MIN_ENTRIES = 10


@dataclass(frozen=True)
class Calibration:
    """The response points ``raw`` (median uncalibrated sum) ↔ ``dep`` (median deposited).

    ``raw`` is strictly increasing; both are MeV. The identity is ``raw = dep = [1.0]``.
    """

    raw: tuple[float, ...]
    dep: tuple[float, ...]

    def __call__(self, e_raw: np.ndarray) -> np.ndarray:
        """Calibrated energies of uncalibrated sums ``e_raw`` (MeV; NaN stays NaN)."""
        raw, dep = np.asarray(self.raw), np.asarray(self.dep)
        e_raw = np.asarray(e_raw, np.float64)
        out = np.interp(e_raw, raw, dep)
        below, above = e_raw < raw[0], e_raw > raw[-1]
        out[below] = e_raw[below] * dep[0] / raw[0]
        out[above] = e_raw[above] * dep[-1] / raw[-1]
        out[np.isnan(e_raw)] = np.nan
        return out


IDENTITY = Calibration(raw=(1.0,), dep=(1.0,))


def fit_calibration(
    e_reco_raw: np.ndarray,
    e_dep: np.ndarray,
    edges: np.ndarray = FIT_EDGES,
    min_entries: int = MIN_ENTRIES,
) -> Calibration:
    """Fit the response inversion on matched candidates.

    Parameters
    ----------
    e_reco_raw, e_dep : (M,) arrays
        Uncalibrated candidate energy and the matched electron's deposited energy, MeV (pairs
        with a NaN or a non-positive value are ignored).
    edges : array
        Bins of deposited energy.
    min_entries : int
        Bins with fewer entries give no point.

    Raises
    ------
    ValueError
        When no bin has ``min_entries`` entries.
    """
    ok = np.isfinite(e_reco_raw) & np.isfinite(e_dep) & (e_reco_raw > 0) & (e_dep > 0)
    reco, dep = e_reco_raw[ok].astype(np.float64), e_dep[ok].astype(np.float64)
    which = np.digitize(dep, edges) - 1
    raw_pts, dep_pts = [], []
    for b in range(len(edges) - 1):
        inside = which == b
        if inside.sum() < min_entries:
            continue
        r, d = float(np.median(reco[inside])), float(np.median(dep[inside]))
        if raw_pts and r <= raw_pts[-1]:
            continue  # keep R strictly increasing, so that it can be inverted
        raw_pts.append(r)
        dep_pts.append(d)
    if not raw_pts:
        raise ValueError(
            f"no bin of deposited energy has {min_entries} matched candidates "
            f"({len(reco)} usable candidates)"
        )
    return Calibration(raw=tuple(raw_pts), dep=tuple(dep_pts))


def write_calibration(
    path: Path,
    e_reco_raw: np.ndarray,
    e_dep: np.ndarray,
    sources: list[Path],
    selection: str,
    min_entries: int = MIN_ENTRIES,
) -> Calibration:
    """Fit the calibration on matched candidates and write it as JSON; returns it."""
    calibration = fit_calibration(e_reco_raw, e_dep, min_entries=min_entries)
    payload = {
        "method": "numerical inversion of the median response in 5 MeV bins of deposited energy",
        "truth": "the matched Michel electron's own deposited energy (part_edep)",
        "selection": selection,
        "raw": list(calibration.raw),
        "dep": list(calibration.dep),
        "n_candidates": int((np.isfinite(e_dep) & np.isfinite(e_reco_raw)).sum()),
        "sources": [str(p) for p in sources],
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
    return calibration


def read_calibration(path: Path) -> Calibration:
    """The calibration stored in a JSON file written by :func:`write_calibration`."""
    try:
        payload = json.loads(Path(path).read_text())
        raw = tuple(float(v) for v in payload["raw"])
        dep = tuple(float(v) for v in payload["dep"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(path, f"not a calibration file: {err}", field="raw") from err
    values = raw + dep
    if not raw or len(raw) != len(dep) or not all(math.isfinite(v) and v > 0 for v in values):
        raise InputError(path, "needs equal, non-empty lists of positive numbers", field="raw")
    if any(b <= a for a, b in itertools.pairwise(raw)):
        raise InputError(path, "must be strictly increasing", field="raw")
    return Calibration(raw=raw, dep=dep)
