"""The Michel purity/efficiency table of all variants.

Reads the ``metrics.json`` of each ``python -m analysis michel`` run and writes
``OUT.csv``/``OUT.md``/``OUT.tex``: two rows per variant (``selection`` = ``paper``, the
paper's procedure, and ``added``, the added selection of :mod:`analysis.michel.selection`),
values in percent and the voxel-summed forms in extra columns. The CSV has the 95 % intervals
in ``*_lo``/``*_hi`` columns; the Markdown and LaTeX tables show them as ``value [lo, hi]`` in
one cell. A variant named ``truth`` (the ``--truth`` ceiling) is listed last among the runs;
the slide's reference values (ACAT 2019, docs/study.md §6) are added to the Markdown and LaTeX
tables as a last row.
"""

from __future__ import annotations

import math
from pathlib import Path

from analysis.michel.reconstruct import MichelConfig
from analysis.michel.selection import ADDED
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
    "truth = true labels used as the prediction. Selection: paper = the paper's procedure "
    f"(attached at a predicted track's end); added = {ADDED.describe()}; each kept cluster grown "
    "through the voxels connected to it with a Michel score of at least "
    f"{MichelConfig().grow_score:g} (thresholds chosen on the validation split, "
    "docs/study.md §6)."
)


def columns() -> list[str]:
    """The table's columns: variant, sample, counts, selection, then each metric with its
    interval."""
    cols = ["variant", "sample", "candidates", "true_clusters", "selection"]
    for name in METRICS.values():
        cols += [name, f"{name}_lo", f"{name}_hi"]
    return cols


def row_from_metrics(
    variant: str, metrics: dict, path: Path | None = None, selection: str = "paper"
) -> dict[str, object]:
    """One table row (percent) from the content of a ``metrics.json`` (or of its ``added``)."""
    try:
        row: dict[str, object] = {
            "variant": variant,
            "selection": selection,
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
COMPACT_COLUMNS = [
    "variant",
    "selection",
    "sample",
    "candidates",
    "true_clusters",
    *METRICS.values(),
]

#: Headers of the Markdown, LaTeX and HTML tables, in words (the CSV keeps the column names).
HEADERS = {
    "variant": "Variant",
    "selection": "Selection",
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
    out = {k: row[k] for k in ("variant", "selection", "sample", "candidates", "true_clusters")}
    for name in METRICS.values():
        value, lo, hi = (row[name + s] for s in ("", "_lo", "_hi"))
        out[name] = "" if math.isnan(value) else f"{value:.1f} [{lo:.1f}, {hi:.1f}]"
    return out
