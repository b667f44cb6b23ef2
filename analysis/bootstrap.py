"""Bootstrap over events, vectorised: resample whole events, sum their per-event tallies.

An event is the independent unit of the data set (its voxels are correlated), so confidence
intervals resample events with replacement. Drawing ``E`` events with replacement is the same as
giving every event a multiplicity drawn from a multinomial with ``E`` trials and equal
probabilities; the resampled totals are then one matrix product of the multiplicities with the
per-event tallies, with no Python loop over events or resamples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np

#: Resamples drawn per block, to bound the memory of the (block, events) multiplicity matrix.
_BLOCK = 256


def resampled_totals(
    per_event: np.ndarray, rng: np.random.Generator, n_resamples: int
) -> Iterator[np.ndarray]:
    """Yield the totals of bootstrap resamples of the events, a block of resamples at a time.

    Parameters
    ----------
    per_event : (E, ...) array
        Tallies of each event (counts, sums); the first axis runs over events.
    rng : numpy.random.Generator
        Source of randomness.
    n_resamples : int
        Number of resamples in all.

    Yields
    ------
    (B, ...) float64 array
        The summed tallies of ``B <= 256`` resamples, each of ``E`` events drawn with
        replacement; the blocks together hold ``n_resamples`` resamples.
    """
    per_event = np.asarray(per_event)
    n_events = per_event.shape[0]
    flat = per_event.reshape(n_events, -1).astype(np.float64)
    probabilities = np.full(n_events, 1.0 / n_events) if n_events else np.zeros(0)
    for start in range(0, n_resamples, _BLOCK):
        size = min(_BLOCK, n_resamples - start)
        if n_events == 0:
            weights = np.zeros((size, 0))
        else:
            weights = rng.multinomial(n_events, probabilities, size=size).astype(np.float64)
        yield (weights @ flat).reshape((size, *per_event.shape[1:]))


def bootstrap_statistic(
    per_event: np.ndarray,
    statistic: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
    n_resamples: int,
) -> np.ndarray:
    """Evaluate a statistic of the summed tallies on bootstrap resamples of the events.

    Parameters
    ----------
    per_event : (E, ...) array
        Tallies of each event.
    statistic : callable
        Maps a stack of totals ``(B, ...)`` to a stack of results ``(B, ...)``; it must work on
        the leading axis (vectorised).
    rng : numpy.random.Generator
        Source of randomness.
    n_resamples : int
        Number of resamples.

    Returns
    -------
    (n_resamples, ...) float64 array
        The statistic of each resample.
    """
    blocks = [statistic(totals) for totals in resampled_totals(per_event, rng, n_resamples)]
    return np.concatenate(blocks, axis=0)


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Central percentile interval of bootstrap samples, ignoring NaN resamples.

    Parameters
    ----------
    samples : (B, ...) array
        The statistic on each resample.
    level : float
        Coverage, between 0 and 1.

    Returns
    -------
    lo, hi : (...) float64 arrays
        The ``(1 - level)/2`` and ``(1 + level)/2`` quantiles; NaN where every resample is NaN.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    samples = np.asarray(samples, dtype=np.float64)
    tail = 50.0 * (1.0 - level)
    defined = np.isfinite(samples).any(axis=0)
    # nanpercentile warns on all-NaN slices; fill them and put NaN back afterwards.
    filled = np.where(defined[None, ...], samples, 0.0)
    lo, hi = np.nanpercentile(filled, [tail, 100.0 - tail], axis=0)
    return np.where(defined, lo, np.nan), np.where(defined, hi, np.nan)


def ratio_interval(
    numerator: np.ndarray,
    denominator: np.ndarray,
    rng: np.random.Generator,
    n_resamples: int,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Ratio of sums over events, with its bootstrap percentile interval (events resampled).

    Parameters
    ----------
    numerator, denominator : (E,) arrays
        Per-event sums.
    rng : numpy.random.Generator
        Source of randomness.
    n_resamples : int
        Number of resamples; 0 gives no interval (NaN bounds).
    level : float
        Coverage of the interval.

    Returns
    -------
    value, lo, hi : float
        NaN when the denominator sums to zero; a resample whose denominator is zero is left
        out of the interval.
    """
    total = float(np.sum(denominator))
    if total == 0:
        return math.nan, math.nan, math.nan
    value = float(np.sum(numerator)) / total
    if n_resamples == 0:
        return value, math.nan, math.nan

    def ratio(totals: np.ndarray) -> np.ndarray:
        num, den = totals[:, 0], totals[:, 1]
        return np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0)

    per_event = np.stack([numerator, denominator], axis=1)
    lo, hi = percentile_interval(bootstrap_statistic(per_event, ratio, rng, n_resamples), level)
    return value, float(lo), float(hi)
