"""The accuracy table as CSV, Markdown, LaTeX and JSON, and the confusion matrices."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from analysis.accuracy.confusion import plot_confusion
from analysis.accuracy.seeds import accuracy_over_seeds
from analysis.accuracy.types import ColumnResult
from analysis.reference import PAPER_ACCURACY_PCT
from analysis.seeds import (
    SPREAD,
    OverSeeds,
    mean_sd_cell,
    over_seeds,
    spread_header,
    spread_sentence,
)
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


#: Suffixes of the CSV columns over seeds, and the statistic each holds.
SEED_STATISTICS = {"mean": "mean", "sd": "sd", "min": "min", "max": "max"}


def csv_rows(
    results: list[ColumnResult], spread: dict[str, OverSeeds] | None = None
) -> tuple[list[dict], list[str]]:
    """Rows and columns of the numeric table: one row per class, percent, ``*_lo``/``*_hi``;
    with ``spread`` (several seeds) also ``*_mean``, ``*_sd``, ``*_min``, ``*_max``."""
    columns = ["class"]
    for r in results:
        columns += [r.column.key, f"{r.column.key}_lo", f"{r.column.key}_hi"]
        if spread is not None:
            columns += [f"{r.column.key}_{suffix}" for suffix in SEED_STATISTICS]
    rows = []
    for cls in Label:
        row: dict[str, object] = {"class": cls.title}
        for r in results:
            row[r.column.key] = _pct(r.accuracy[cls])
            row[f"{r.column.key}_lo"] = _pct(r.lo[cls])
            row[f"{r.column.key}_hi"] = _pct(r.hi[cls])
            if spread is not None:
                for suffix, attribute in SEED_STATISTICS.items():
                    value = float(getattr(spread[r.column.key], attribute)[cls])
                    row[f"{r.column.key}_{suffix}"] = None if np.isnan(value) else value
        rows.append(row)
    return rows, columns


def display_rows(
    results: list[ColumnResult], spread: dict[str, OverSeeds] | None = None
) -> tuple[list[dict], list[str]]:
    """Rows of the Markdown/LaTeX table: "value [lo, hi]" next to the slide value per column;
    with ``spread`` (several seeds), "mean ± sd" over seeds beside each interval."""
    columns = ["Class"]
    for r in results:
        columns.append(r.column.title)
        if spread is not None:
            columns.append(spread_header(r.column.title, spread[r.column.key].n))
        if r.column.key in PAPER_ACCURACY_PCT:
            columns.append(f"{r.column.title} (paper)")
    rows = []
    for cls in Label:
        row: dict[str, object] = {"Class": cls.title}
        for r in results:
            row[r.column.title] = _cell(r.accuracy[cls], r.lo[cls], r.hi[cls])
            if spread is not None:
                stats = spread[r.column.key]
                row[spread_header(r.column.title, stats.n)] = (
                    mean_sd_cell(float(stats.mean[cls]), float(stats.sd[cls])) or "—"
                )
            if r.column.key in PAPER_ACCURACY_PCT:
                row[f"{r.column.title} (paper)"] = f"{PAPER_ACCURACY_PCT[r.column.key][cls]:.1f}"
        rows.append(row)
    return rows, columns


def seeds_json(seeds: list[int], by_seed: list[list[ColumnResult]]) -> dict:
    """Per column key: the per-seed accuracy and interval, and their spread (fractions)."""

    def listed(values: np.ndarray) -> list[float | None]:
        return [None if np.isnan(v) else float(v) for v in values]

    spread = {}
    for i, result in enumerate(by_seed[0]):
        stats = over_seeds([r[i].accuracy for r in by_seed])
        spread[result.column.key] = {
            "per_seed": {
                str(seed): {
                    "accuracy": listed(r[i].accuracy),
                    "accuracy_lo": listed(r[i].lo),
                    "accuracy_hi": listed(r[i].hi),
                }
                for seed, r in zip(seeds, by_seed, strict=True)
            },
            "mean": listed(stats.mean),
            "sd": listed(stats.sd),
            "min": listed(stats.min),
            "max": listed(stats.max),
        }
    return {"seeds": seeds, "value_seed": seeds[0], "spread": SPREAD, "columns": spread}


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
    seeds: list[int] | None = None,
    by_seed: list[list[ColumnResult]] | None = None,
) -> None:
    """Write ``<stem>.{csv,md,tex,json}`` and, with ``plots``, the confusion matrices.

    ``results`` are the first training seed's; with ``seeds`` and ``by_seed`` (the results of
    every seed, in the order of ``seeds``; more than one) the tables add the mean and spread
    over seeds beside each interval and the JSON a ``training_seeds`` block.
    """
    from analysis.tables import write_table

    several = seeds is not None and by_seed is not None and len(seeds) > 1
    spread = accuracy_over_seeds(by_seed) if several else None

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
    if several:
        caption += f" {spread_sentence(seeds)}; the confusion matrices are seed {seeds[0]}'s."
    rows, columns = csv_rows(results, spread)
    write_table(rows, columns, stem, caption, formats=("csv",))
    rows, columns = display_rows(results, spread)
    write_table(rows, columns, stem, caption, formats=("md", "tex", "html"))
    with atomic_path(stem.parent / f"{stem.name}.json") as tmp:
        payload = results_json(results, n_bootstrap=n_bootstrap, seed=seed, level=level)
        if seeds:
            payload["training_seed"] = seeds[0]
        if several:
            payload["training_seeds"] = seeds_json(seeds, by_seed)
        tmp.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    if plots is not None:
        for r in results:
            plot_confusion(
                r.counts, r.column.title, plots / f"confusion_{r.column.key}.png", data=data
            )
