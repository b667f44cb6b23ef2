"""The Michel purity/efficiency table of all variants.

Reads the ``metrics.json`` of each ``python -m analysis michel`` run and writes
``OUT.csv``/``OUT.md``/``OUT.tex``: one row per variant, values in percent and the voxel-summed
forms in extra columns. The CSV has the 95 % intervals in ``*_lo``/``*_hi`` columns; the
Markdown and LaTeX tables show them as ``value [lo, hi]`` in one cell. A variant
named ``truth`` (the ``--truth`` ceiling) is listed last among the runs; the slide's reference
values (ACAT 2019, docs/study.md §6) are added to the Markdown and LaTeX tables as a last row.
"""

from __future__ import annotations

import math
from pathlib import Path

from lartpc_seg.errors import InputError

#: metrics.json key → table column, in table order.
METRICS = {
    "id_purity": "id_purity",
    "id_efficiency": "id_efficiency",
    "id_efficiency_attached": "id_efficiency_attached",
    "cluster_purity": "cluster_purity",
    "cluster_efficiency": "cluster_efficiency",
    "cluster_purity_voxels": "cluster_purity_voxels",
    "cluster_efficiency_voxels": "cluster_efficiency_voxels",
}


CAPTION = (
    "Michel electron reconstruction (docs/study.md §6), in percent with 95 % intervals: "
    "identification purity and efficiency (all true clusters, and those attached to a true MIP), "
    "cluster purity and efficiency (mean over matched candidates, or voxel-summed). "
    "Events = events analysed (the paper's 7105 as printed on the slide, unit not stated); "
    "truth = true labels used as the prediction."
)


def columns() -> list[str]:
    """The table's columns: variant, sample, counts, then each metric with its interval."""
    cols = ["variant", "sample", "candidates", "true_clusters"]
    for name in METRICS.values():
        cols += [name, f"{name}_lo", f"{name}_hi"]
    return cols


def row_from_metrics(variant: str, metrics: dict, path: Path | None = None) -> dict[str, object]:
    """One table row (percent) from the content of a ``metrics.json``."""
    try:
        row: dict[str, object] = {
            "variant": variant,
            "sample": int(metrics["sample"]),
            "candidates": int(metrics["counts"]["candidates"]),
            "true_clusters": int(metrics["counts"]["true_clusters"]),
        }
        for key, name in METRICS.items():
            for part, suffix in (("value", ""), ("lo", "_lo"), ("hi", "_hi")):
                value = metrics[key][part]
                row[name + suffix] = math.nan if value is None else 100.0 * float(value)
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(path, f"not a Michel metrics file: missing or bad {err}") from err
    return row


#: Columns of the Markdown and LaTeX tables: each metric as "value [lo, hi]".
COMPACT_COLUMNS = ["variant", "sample", "candidates", "true_clusters", *METRICS.values()]

#: Headers of the Markdown, LaTeX and HTML tables, in words (the CSV keeps the column names).
HEADERS = {
    "variant": "Variant",
    "sample": "Events",
    "candidates": "Candidates",
    "true_clusters": "True Michel clusters",
    "id_purity": "ID purity [%]",
    "id_efficiency": "ID efficiency [%]",
    "id_efficiency_attached": "ID efficiency, attached to a muon [%]",
    "cluster_purity": "Cluster purity [%]",
    "cluster_efficiency": "Cluster efficiency [%]",
    "cluster_purity_voxels": "Cluster purity, voxel-summed [%]",
    "cluster_efficiency_voxels": "Cluster efficiency, voxel-summed [%]",
}


def worded(row: dict[str, object]) -> dict[str, object]:
    """A Markdown/LaTeX/HTML row: the same cells under the :data:`HEADERS` names."""
    return {HEADERS[k]: v for k, v in row.items() if k in HEADERS}


def compact_row(row: dict[str, object]) -> dict[str, object]:
    """A row of the Markdown/LaTeX table: ``value [lo, hi]`` in percent, one decimal."""
    out = {k: row[k] for k in ("variant", "sample", "candidates", "true_clusters")}
    for name in METRICS.values():
        value, lo, hi = (row[name + s] for s in ("", "_lo", "_hi"))
        out[name] = "" if math.isnan(value) else f"{value:.1f} [{lo:.1f}, {hi:.1f}]"
    return out


#: Statistics over training seeds added after each metric's interval when there are several.
SEED_STATISTICS = ("mean", "sd", "min", "max")


def seeded_columns() -> list[str]:
    """The CSV columns with several training seeds: those of :func:`columns`, with the value's
    seed and the number of seeds after the variant, and each metric's mean, sd, min and max over
    seeds after its interval."""
    cols = []
    for col in columns():
        cols.append(col)
        if col == "variant":
            cols += ["seed", "seeds"]
        name = col.removesuffix("_hi")
        if col.endswith("_hi") and name in METRICS.values():
            cols += [f"{name}_{s}" for s in SEED_STATISTICS]
    return cols


def row_identity(row: dict[str, object]) -> tuple:
    """What a row stands for across training seeds: its non-metric text fields (the variant,
    and any other label of the row), not its counts."""
    return tuple(
        (k, v)
        for k, v in row.items()
        if isinstance(v, str) and k not in ("sample", "candidates", "true_clusters")
    )


def combine_seeds(runs: list[tuple[int | None, dict[str, object]]]) -> dict[str, object]:
    """One variant's row over its training seeds: the first seed's row (value, interval, counts)
    with each metric's mean, sample standard deviation, minimum and maximum over the seeds.

    Parameters
    ----------
    runs : list of (seed, row)
        The rows of :func:`row_from_metrics` of each seed, the first seed first. A single run
        (the ``truth`` row) gets empty statistics.
    """
    from analysis.seeds import over_seeds

    seed, first = runs[0]
    row = {**first, "seed": "" if seed is None else seed, "seeds": len(runs)}
    for name in METRICS.values():
        stats = over_seeds([float(r[name]) for _, r in runs])
        for statistic in SEED_STATISTICS:
            value = float(getattr(stats, statistic)) if len(runs) > 1 else math.nan
            row[f"{name}_{statistic}"] = value
    return row


def spread_row(row: dict[str, object], n_seeds: int) -> dict[str, object]:
    """A compact row (:func:`compact_row`) with "mean ± sd" beside each metric, under the
    :data:`HEADERS` names and :func:`analysis.seeds.spread_header` headers."""
    from analysis.seeds import mean_sd_cell, spread_header

    out: dict[str, object] = {}
    compact = compact_row(row)
    for key, value in compact.items():
        out[HEADERS[key]] = value
        if key in METRICS.values():
            mean, sd = (float(row.get(f"{key}_{s}", math.nan)) for s in ("mean", "sd"))
            out[spread_header(HEADERS[key], n_seeds)] = mean_sd_cell(mean, sd)
    return out
