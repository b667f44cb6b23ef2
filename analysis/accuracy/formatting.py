"""The accuracy table as CSV, Markdown, LaTeX and JSON, and the confusion matrices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from analysis.accuracy.types import ColumnResult
from analysis.confusion import plot_confusion
from analysis.reference import PAPER_ACCURACY_PCT
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.labels import Label


def _pct(value: float) -> float | None:
    """Fraction → percent, or None for NaN (an empty cell)."""
    return None if np.isnan(value) else 100.0 * float(value)


def _cell(value: float, lo: float, hi: float) -> str:
    if np.isnan(value):
        return "—"
    if np.isnan(lo):
        return f"{100.0 * value:.1f}"
    return f"{100.0 * value:.1f} [{100.0 * lo:.1f}, {100.0 * hi:.1f}]"


def csv_rows(results: list[ColumnResult]) -> tuple[list[dict], list[str]]:
    """Rows and columns of the numeric table: one row per class, percent, ``*_lo``/``*_hi``."""
    columns = ["class"]
    for r in results:
        columns += [r.column.key, f"{r.column.key}_lo", f"{r.column.key}_hi"]
    rows = []
    for cls in Label:
        row: dict[str, object] = {"class": cls.title}
        for r in results:
            row[r.column.key] = _pct(r.accuracy[cls])
            row[f"{r.column.key}_lo"] = _pct(r.lo[cls])
            row[f"{r.column.key}_hi"] = _pct(r.hi[cls])
        rows.append(row)
    return rows, columns


def display_rows(results: list[ColumnResult]) -> tuple[list[dict], list[str]]:
    """Rows of the Markdown/LaTeX table: "value [lo, hi]" next to the slide value per column."""
    columns = ["Class"]
    for r in results:
        columns.append(r.column.title)
        if r.column.key in PAPER_ACCURACY_PCT:
            columns.append(f"{r.column.title} (paper)")
    rows = []
    for cls in Label:
        row: dict[str, object] = {"Class": cls.title}
        for r in results:
            row[r.column.title] = _cell(r.accuracy[cls], r.lo[cls], r.hi[cls])
            if r.column.key in PAPER_ACCURACY_PCT:
                row[f"{r.column.title} (paper)"] = f"{PAPER_ACCURACY_PCT[r.column.key][cls]:.1f}"
        rows.append(row)
    return rows, columns


def results_json(results: list[ColumnResult], *, n_bootstrap: int, seed: int, level: float) -> dict:
    """Everything the README generator needs, as JSON-ready values (NaN → null)."""

    def listed(values: np.ndarray) -> list[float | None]:
        return [None if np.isnan(v) else float(v) for v in values]

    return {
        "classes": [cls.title for cls in Label],
        "accuracy_unit": "fraction 0..1 (paper values in percent)",
        "bootstrap": {"resamples": n_bootstrap, "seed": seed, "level": level, "unit": "events"},
        "columns": {
            r.column.key: {
                "title": r.column.title,
                "variant": r.column.variant,
                "truth": f"vox_{r.column.truth}",
                "n_events": r.n_events,
                "n_voxels": int(r.counts.sum()),
                "n_voxels_per_class": [int(v) for v in r.counts.sum(axis=1)],
                "accuracy": listed(r.accuracy),
                "accuracy_lo": listed(r.lo),
                "accuracy_hi": listed(r.hi),
                "confusion": r.counts.tolist(),
                "paper_accuracy_pct": (
                    [PAPER_ACCURACY_PCT[r.column.key][cls] for cls in Label]
                    if r.column.key in PAPER_ACCURACY_PCT
                    else None
                ),
            }
            for r in results
        },
    }


def write_outputs(
    results: list[ColumnResult],
    stem: Path,
    plots: Path | None,
    *,
    n_bootstrap: int,
    seed: int,
    level: float,
    data: str = "Simulation",
) -> None:
    """Write ``<stem>.{csv,md,tex,json}`` and, with ``plots``, the confusion matrices."""
    from analysis.tables import write_table

    n_events = results[0].n_events if results else 0
    n_voxels = int(results[0].counts.sum()) if results else 0
    interval = (
        f"{100 * level:.0f} % bootstrap intervals over events ({n_bootstrap} resamples)"
        if n_bootstrap > 0
        else "no intervals"
    )
    caption = (
        f"Non-zero accuracy per class in percent (train → test labels), {n_events} test events, "
        f"{n_voxels} voxels; {interval}; '—' = class absent. Paper: ACAT 2019 slides."
    )
    rows, columns = csv_rows(results)
    write_table(rows, columns, stem, caption, formats=("csv",))
    rows, columns = display_rows(results)
    write_table(rows, columns, stem, caption, formats=("md", "tex"))
    with atomic_path(stem.parent / f"{stem.name}.json") as tmp:
        payload = results_json(results, n_bootstrap=n_bootstrap, seed=seed, level=level)
        tmp.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    if plots is not None:
        for r in results:
            plot_confusion(
                r.counts, r.column.title, plots / f"confusion_{r.column.key}.png", data=data
            )
