"""The accuracy table over training seeds: per-seed columns, their spread, and the Michel gap.

A column of the table (a variant against a set of true labels) is scored once per training
seed: the command names the predictions of seed ``S`` of a variant ``VARIANT@S`` and the scored
column ``KEY@S``. The *gap* is the study's headline: the Michel accuracy of the relabeled
network on the relabeled labels minus that of the regular network on the regular labels
(Rel→Rel − Reg→Reg), per seed, with a paired bootstrap interval (the same event resamples
enter both columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.accuracy.statistics import per_class_accuracy
from analysis.accuracy.types import AccuracyColumn, ColumnResult
from analysis.bootstrap import bootstrap_statistic, percentile_interval
from analysis.seeds import SPREAD, OverSeeds, mean_sd_cell, over_seeds
from lartpc_seg.errors import InputError
from lartpc_seg.labels import Label

#: The two columns of the gap: (baseline, relabeled).
GAP_COLUMNS = ("regular_regular", "relabeled_relabeled")


def seeded_name(name: str, seed: int | None) -> str:
    """``NAME@SEED`` (or ``NAME`` for an unnamed single seed)."""
    return name if seed is None else f"{name}@{seed}"


def seeded_columns(columns: list[AccuracyColumn], seed: int | None) -> list[AccuracyColumn]:
    """The columns scored on one seed's predictions: key and variant as ``NAME@SEED``."""
    return [
        AccuracyColumn(seeded_name(c.key, seed), seeded_name(c.variant, seed), c.truth)
        for c in columns
    ]


def common_seeds(seeds_of: dict[str, list[int | None]]) -> list[int | None]:
    """The training seeds every variant was given, in order, or an InputError.

    ``seeds_of`` maps a variant to the seeds of its ``--predictions`` (None for a bare name).
    """
    distinct = {tuple(s) for s in seeds_of.values()}
    if len(distinct) != 1:
        listed = "; ".join(f"{v}: {s}" for v, s in seeds_of.items())
        raise InputError(
            None,
            f"every variant needs predictions of the same seeds ({listed})",
            field="--predictions",
        )
    seeds = list(distinct.pop())
    if None in seeds and len(seeds) > 1:
        raise InputError(
            None,
            "with several seeds every --predictions must name its seed (VARIANT@SEED)",
            field="--predictions",
        )
    if len(set(seeds)) != len(seeds):
        raise InputError(None, f"a seed is given twice: {seeds}", field="--predictions")
    return seeds


def accuracy_over_seeds(by_seed: list[list[ColumnResult]]) -> dict[str, OverSeeds]:
    """Per column key: mean, sd, min, max of the per-class accuracy (percent) over the seeds."""
    return {
        result.column.key: over_seeds([100.0 * results[i].accuracy for results in by_seed])
        for i, result in enumerate(by_seed[0])
    }


@dataclass(frozen=True)
class SeedGap:
    """Michel accuracy of both gap columns for one seed and their difference, in percent.

    Attributes
    ----------
    seed : int or None
    regular, relabeled, gap : float
        Reg→Reg, Rel→Rel and Rel→Rel − Reg→Reg.
    regular_lo, regular_hi, relabeled_lo, relabeled_hi, gap_lo, gap_hi : float
        Bootstrap intervals (NaN without a bootstrap); the gap's is paired.
    """

    seed: int | None
    regular: float
    regular_lo: float
    regular_hi: float
    relabeled: float
    relabeled_lo: float
    relabeled_hi: float
    gap: float
    gap_lo: float
    gap_hi: float


def _michel_difference(totals: np.ndarray) -> np.ndarray:
    """(B, 2, 5, 5) totals of (regular, relabeled) → (B,) Michel accuracy difference."""
    accuracy = per_class_accuracy(totals)[..., Label.MICHEL]
    return accuracy[:, 1] - accuracy[:, 0]


def seed_gaps(
    per_event: dict[str, np.ndarray],
    seeds: list[int | None],
    *,
    n_bootstrap: int,
    seed: int,
    level: float,
) -> list[SeedGap]:
    """The Michel gap of every training seed, from the per-event counts of the seeded columns.

    Parameters
    ----------
    per_event : dict of str to (E, 5, 5) array
        Per-event confusion counts by seeded column key (``regular_regular@S``, ...).
    seeds : list of int or None
        Training seeds, in table order.
    n_bootstrap, seed, level
        Resamples (0: no intervals), seed and coverage of the bootstrap. Every interval uses the
        same resamples of the events, so the columns and their difference are paired.
    """
    gaps = []
    for training_seed in seeds:
        counts = [per_event[seeded_name(key, training_seed)] for key in GAP_COLUMNS]
        pct = [100.0 * per_class_accuracy(c.sum(axis=0))[Label.MICHEL] for c in counts]
        bounds = [(np.nan, np.nan)] * 3
        if n_bootstrap > 0 and len(counts[0]):
            stacked = np.stack(counts, axis=1)
            samples = bootstrap_statistic(
                stacked,
                lambda t: np.concatenate(
                    [
                        per_class_accuracy(t)[..., Label.MICHEL],
                        _michel_difference(t)[:, None],
                    ],
                    axis=1,
                ),
                np.random.default_rng(seed),
                n_bootstrap,
            )
            lo, hi = percentile_interval(100.0 * samples, level)
            bounds = list(zip(lo.tolist(), hi.tolist(), strict=True))
        gaps.append(
            SeedGap(
                training_seed,
                pct[0],
                *bounds[0],
                pct[1],
                *bounds[1],
                pct[1] - pct[0],
                *bounds[2],
            )
        )
    return gaps


#: CSV columns of the gap table.
GAP_CSV_COLUMNS = [
    "seed",
    "regular_regular",
    "regular_regular_lo",
    "regular_regular_hi",
    "relabeled_relabeled",
    "relabeled_relabeled_lo",
    "relabeled_relabeled_hi",
    "gap",
    "gap_lo",
    "gap_hi",
]

_GAP_HEADERS = ["Training seed", "Regular → Regular", "Relabeled → Relabeled", "Gap"]


def _interval_cell(value: float, lo: float, hi: float) -> str:
    if np.isnan(value):
        return "—"
    if np.isnan(lo):
        return f"{value:.1f}"
    return f"{value:.1f} [{lo:.1f}, {hi:.1f}]"


def write_gap_table(gaps: list[SeedGap], stem: Path, *, n_bootstrap: int, level: float) -> None:
    """Write ``<stem>.{csv,md,tex,html}``: one row per seed, then (several seeds) mean ± sd,
    minimum and maximum over the seeds in the Markdown, LaTeX and HTML tables."""
    from analysis.tables import write_table

    rows = [
        {
            "seed": "" if g.seed is None else g.seed,
            "regular_regular": g.regular,
            "regular_regular_lo": g.regular_lo,
            "regular_regular_hi": g.regular_hi,
            "relabeled_relabeled": g.relabeled,
            "relabeled_relabeled_lo": g.relabeled_lo,
            "relabeled_relabeled_hi": g.relabeled_hi,
            "gap": g.gap,
            "gap_lo": g.gap_lo,
            "gap_hi": g.gap_hi,
        }
        for g in gaps
    ]
    interval = (
        f"{100 * level:.0f} % bootstrap intervals over events ({n_bootstrap} resamples; the "
        "gap's paired)"
        if n_bootstrap > 0
        else "no intervals"
    )
    caption = (
        "Michel non-zero accuracy in percent per training seed: regular network on the regular "
        "labels, relabeled network on the relabeled labels, and the gap Rel→Rel − Reg→Reg; "
        f"{interval}."
    )
    if len(gaps) > 1:
        caption += f" Last rows: mean ± {SPREAD}, minimum and maximum over the {len(gaps)} seeds."
    write_table(rows, GAP_CSV_COLUMNS, stem, caption, formats=("csv",))
    shown = [
        dict(
            zip(
                _GAP_HEADERS,
                [
                    "" if g.seed is None else str(g.seed),
                    _interval_cell(g.regular, g.regular_lo, g.regular_hi),
                    _interval_cell(g.relabeled, g.relabeled_lo, g.relabeled_hi),
                    _interval_cell(g.gap, g.gap_lo, g.gap_hi),
                ],
                strict=True,
            )
        )
        for g in gaps
    ]
    if len(gaps) > 1:
        stats = over_seeds([[g.regular, g.relabeled, g.gap] for g in gaps])
        shown.append(
            dict(
                zip(
                    _GAP_HEADERS,
                    [
                        "mean ± sd",
                        *(mean_sd_cell(m, s) for m, s in zip(stats.mean, stats.sd, strict=True)),
                    ],
                    strict=True,
                )
            )
        )
        for name, values in (("minimum", stats.min), ("maximum", stats.max)):
            shown.append(
                dict(zip(_GAP_HEADERS, [name, *(f"{v:.1f}" for v in values)], strict=True))
            )
    write_table(shown, _GAP_HEADERS, stem, caption, formats=("md", "tex", "html"))
