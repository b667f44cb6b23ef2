"""Non-zero accuracy per class and its bootstrap interval over events (docs/study.md §5)."""

from __future__ import annotations

import numpy as np

from analysis.accuracy.types import AccuracyColumn, ColumnResult
from analysis.bootstrap import bootstrap_statistic, percentile_interval
from lartpc_seg.labels import NUM_CLASSES


def per_class_accuracy(counts: np.ndarray) -> np.ndarray:
    """Non-zero accuracy of each class: voxels of true class c predicted c / voxels of class c.

    Parameters
    ----------
    counts : (..., 5, 5) array
        Confusion counts (rows true, columns predicted); a stack of matrices is fine.

    Returns
    -------
    (..., 5) float64 array
        Fractions in 0..1; NaN for a class without true voxels.
    """
    counts = np.asarray(counts, dtype=np.float64)
    correct = np.diagonal(counts, axis1=-2, axis2=-1)
    total = counts.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, correct / np.where(total > 0, total, 1.0), np.nan)


def bootstrap_interval(
    per_event_counts: np.ndarray,
    rng: np.random.Generator,
    n: int,
    level: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap percentile interval of the per-class accuracy, resampling events.

    Parameters
    ----------
    per_event_counts : (E, 5, 5) integer array
        Confusion counts of each event.
    rng : numpy.random.Generator
        Source of randomness.
    n : int
        Number of resamples.
    level : float
        Coverage of the interval.

    Returns
    -------
    lo, hi : (5,) float64 arrays
        Interval bounds as fractions; NaN for a class absent from every resample.
    """
    samples = bootstrap_statistic(per_event_counts, per_class_accuracy, rng, n)
    return percentile_interval(samples, level)


def score_columns(
    per_event: dict[str, np.ndarray],
    columns: list[AccuracyColumn],
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> list[ColumnResult]:
    """Accuracy and bootstrap interval of every column.

    Every column is resampled with the same seed, so the same event resamples enter every column
    and differences between columns are paired.

    Parameters
    ----------
    per_event : dict of str to (E, 5, 5) array
        Per-event confusion counts by column key (:func:`collect_per_event_counts`).
    columns : list of AccuracyColumn
    n_bootstrap : int
        Resamples; 0 skips the intervals (NaN).
    seed : int
        Seed of the resampling.
    level : float
        Coverage of the intervals.
    """
    results = []
    for column in columns:
        counts_e = per_event[column.key]
        counts = counts_e.sum(axis=0).astype(np.int64)
        if n_bootstrap > 0 and len(counts_e):
            lo, hi = bootstrap_interval(counts_e, np.random.default_rng(seed), n_bootstrap, level)
        else:
            lo = hi = np.full(NUM_CLASSES, np.nan)
        results.append(
            ColumnResult(
                column=column,
                counts=counts,
                accuracy=per_class_accuracy(counts),
                lo=lo,
                hi=hi,
                n_events=len(counts_e),
            )
        )
    return results
