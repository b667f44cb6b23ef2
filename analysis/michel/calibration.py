"""The Michel energy scale: a factor fitted on the training split, stored as JSON, applied on test.

The reconstructed energy is the sum of a candidate's voxel energies (MeV) times this factor; the
fit is a least-squares line through the origin of the true kinetic energy of the matched Michel
electron on that sum.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path


def fit_calibration(e_reco_raw: np.ndarray, e_true_ke: np.ndarray) -> float:
    """Scale factor ``k`` minimising Σ (k·reco − true)², a least-squares line through 0.

    Parameters
    ----------
    e_reco_raw, e_true_ke : (M,) arrays
        Uncalibrated candidate energy and matched true kinetic energy, MeV (NaN pairs ignored).
    """
    ok = np.isfinite(e_reco_raw) & np.isfinite(e_true_ke) & (e_reco_raw > 0)
    reco, true = e_reco_raw[ok].astype(np.float64), e_true_ke[ok].astype(np.float64)
    if not len(reco):
        raise ValueError("no matched candidate with a true kinetic energy to fit")
    return float((reco * true).sum() / (reco * reco).sum())


def _fit_sample(candidates: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    sel = candidates["candidate"] & candidates["matched"]
    return candidates["e_reco_raw"][sel], candidates["e_true_ke"][sel]


def write_calibration(path: Path, candidates: dict[str, np.ndarray], sources: list[Path]) -> float:
    """Fit the scale factor on matched candidates and write it as JSON; returns it."""
    reco, true = _fit_sample(candidates)
    factor = fit_calibration(reco, true)
    ok = np.isfinite(true)
    payload = {
        "factor": factor,
        "method": "least squares through the origin of true Michel kinetic energy on the "
        "uncalibrated voxel energy sum, matched candidates",
        "n_candidates": int(ok.sum()),
        "sources": [str(p) for p in sources],
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
    return factor


def read_calibration(path: Path) -> float:
    """The energy scale factor stored in a calibration JSON file."""
    try:
        factor = float(json.loads(Path(path).read_text())["factor"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(path, f"not a calibration file: {err}", field="factor") from err
    if not math.isfinite(factor) or factor <= 0:
        raise InputError(path, f"calibration factor must be positive, got {factor}", field="factor")
    return factor
