"""The energy response's files: ``energy.json`` per variant, the table rows and the figure."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from analysis.michel.energy import (
    RESPONSE_COLUMNS,
    TARGET_RANGE,
    TARGET_TOLERANCE,
    response,
    within_target,
)
from analysis.plotting import label, plt, save_figure, style
from lartpc_seg.errors import InputError

#: The two energies of a response: uncalibrated sum and calibrated energy.
SCALES = {"raw": "e_reco_raw", "calibrated": "e_reco"}

CAPTION = (
    "Michel energy response of the added selection's matched candidates: per 5 MeV bin of the "
    "matched Michel electron's own deposited energy (its ionisation, not its photons'), the "
    "number of candidates, the median of reconstructed / deposited with its distribution-free "
    "95 % interval (median_lo, median_hi), its 16 % and 84 % quantiles, and the resolution "
    "sigma68 = half the 16-84 % interval of that ratio. raw = "
    "uncalibrated voxel sum; calibrated = after the calibration fitted on the training split "
    f"(equal to raw when none is applied). Target: median within ±{100 * TARGET_TOLERANCE:g} % "
    f"of 1 in every bin from {TARGET_RANGE[0]:g} to {TARGET_RANGE[1]:g} MeV."
)


def energy_summary(
    candidates: dict[str, np.ndarray], variant: str, calibrated: bool
) -> dict[str, object]:
    """The response of the selected (``candidate``) matched clusters, raw and calibrated."""
    sel = candidates["candidate"] & candidates["matched"]
    dep = candidates["e_true_edep"][sel]
    out: dict[str, object] = {"variant": variant, "calibrated": calibrated, "scales": {}}
    for scale, column in SCALES.items():
        table = response(dep, candidates[column][sel])
        out["scales"][scale] = {
            "within_target": within_target(table),
            **{k: [None if math.isnan(v) else float(v) for v in table[k]] for k in table},
        }
    return out


def energy_rows(variant: str, summary: dict, path: Path | None = None) -> list[dict[str, object]]:
    """Table rows (variant, scale, then :data:`RESPONSE_COLUMNS`) of an ``energy.json``."""
    rows = []
    try:
        for scale, table in summary["scales"].items():
            for b in range(len(table["e_lo"])):
                row: dict[str, object] = {"variant": variant, "scale": scale}
                for k in RESPONSE_COLUMNS:
                    v = table[k][b]
                    row[k] = int(v) if k == "n" else (math.nan if v is None else float(v))
                rows.append(row)
    except (KeyError, TypeError, IndexError) as err:
        raise InputError(path, f"not a Michel energy file: missing or bad {err}") from err
    return rows


def plot_response(
    candidates: dict[str, np.ndarray],
    path: Path,
    *,
    data: str = "Simulation",
    rlabel: str | None = None,
) -> Path:
    """Median reco / deposited per bin with the 16–84 % band, raw and calibrated."""
    sel = candidates["candidate"] & candidates["matched"]
    dep = candidates["e_true_edep"][sel]
    with style():
        fig, ax = plt.subplots()
        ax.axhspan(1 - TARGET_TOLERANCE, 1 + TARGET_TOLERANCE, color="0.85", label="±5 %")
        for shift, (scale, column) in zip((-0.6, 0.6), SCALES.items(), strict=True):
            t = response(dep, candidates[column][sel])
            centre = 0.5 * (t["e_lo"] + t["e_hi"]) + shift
            ax.errorbar(
                centre,
                t["median"],
                yerr=[t["median"] - t["q16"], t["q84"] - t["median"]],
                marker="o",
                ls="",
                capsize=2,
                label=f"{scale}: median, 16-84 %",
            )
        ax.axhline(1.0, color="grey", ls="--", lw=1)
        ax.set_xlabel("True deposited energy of the Michel electron [MeV]")
        ax.set_ylabel("E$_{reco}$ / E$_{dep}$ (matched)")
        ax.legend(fontsize="small")
        label(ax, data, rlabel=rlabel)
        return save_figure(fig, path)
