"""Purity and efficiency of Michel selections, to choose the added selection's thresholds.

Each criterion of :class:`~analysis.michel.selection.Selection` is scanned on its own over a few
thresholds, then the combinations given; the figures are point values (no intervals): the scan is
run on the validation split, and the chosen selection is reported with intervals on test.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from analysis.michel.selection import ADDED, Selection, added_view

#: The scanned selections, by name: each criterion alone over a few thresholds, then combined.
SCAN: dict[str, Selection] = {
    "paper": Selection(),
    **{f"min_pix={n}": Selection(min_pix=n) for n in (5, 10, 15, 20, 25, 30, 40)},
    **{f"min_score={s:g}": Selection(min_score=s) for s in (0.5, 0.6, 0.7, 0.8, 0.9)},
    **{
        f"no_split cos<={c:g}": Selection(no_split=True, max_split_cos=c)
        for c in (0.0, -0.3, -0.5, -0.7, -0.9)
    },
    **{
        f"no_straight cos<={c:g}": Selection(no_straight=True, max_straight_cos=c)
        for c in (-0.8, -0.85, -0.9, -0.95, -0.98)
    },
    **{f"min_track_extent={e}": Selection(min_track_extent=e) for e in (15.0, 20.0, 30.0, 45.0)},
    "one_per_end": Selection(one_per_end=True),
    "added": ADDED,
    "added without min_pix": replace(ADDED, min_pix=0),
    "added without no_split": replace(ADDED, no_split=False),
    "added without no_straight": replace(ADDED, no_straight=False),
    "added + min_track_extent=15": replace(ADDED, min_track_extent=15.0),
    "added without one_per_end": replace(ADDED, one_per_end=False),
    "added + min_score=0.7": replace(ADDED, min_score=0.7),
}

#: Columns of :func:`scan_rows`.
SCAN_COLUMNS = [
    "selection",
    "candidates",
    "matched",
    "id_purity",
    "id_efficiency",
    "cluster_efficiency",
    "definition",
]


def scan_rows(
    candidates: dict[str, np.ndarray],
    true_clusters: dict[str, np.ndarray],
    selections: dict[str, Selection] = SCAN,
) -> list[dict[str, object]]:
    """ID purity and efficiency and mean cluster efficiency (percent) of each selection.

    The cluster efficiency is that of the grown clusters (:func:`added_view`).
    """
    rows = []
    n_true = len(true_clusters["entry"])
    for name, selection in selections.items():
        cands, trues = added_view(candidates, true_clusters, selection)
        keep = cands["candidate"]
        hit = keep & cands["matched"]
        found = trues["matched"]
        eff = cands["n_pix_in_matched"][hit] / np.maximum(cands["n_pix_matched"][hit], 1)
        rows.append(
            {
                "selection": name,
                "candidates": int(keep.sum()),
                "matched": int(hit.sum()),
                "id_purity": 100.0 * hit.sum() / keep.sum() if keep.any() else math.nan,
                "id_efficiency": 100.0 * found.sum() / n_true if n_true else math.nan,
                "cluster_efficiency": 100.0 * eff.mean() if hit.any() else math.nan,
                "definition": selection.describe(),
            }
        )
    return rows
