"""Michel identification and cluster purity/efficiency with 95 % intervals (docs/study.md §6).

Ratios of counts have an exact Clopper–Pearson interval; means over matched candidates a
bootstrap over events (:mod:`analysis.bootstrap`, seeded by the caller).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import beta

from analysis.bootstrap import ratio_interval

#: Confidence level of every interval.
CONFIDENCE = 0.95


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of a binomial proportion ``k / n``.

    Returns ``(nan, nan)`` when ``n == 0``.
    """
    if n == 0:
        return math.nan, math.nan
    alpha = 1.0 - confidence
    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def michel_metrics(
    candidates: dict[str, np.ndarray],
    true_clusters: dict[str, np.ndarray],
    n_events: int,
    *,
    n_bootstrap: int,
    seed: int,
) -> dict[str, object]:
    """Identification and cluster purity/efficiency of docs/study.md §6 with 95 % intervals.

    Parameters
    ----------
    candidates : dict of (C,) arrays
        Columns of :data:`analysis.michel.reconstruct.CANDIDATE_COLUMNS` for all events, plus
        ``entry`` (event index 0..n_events-1).
    true_clusters : dict of (T,) arrays
        Columns of :data:`analysis.michel.reconstruct.TRUE_COLUMNS` plus ``entry``.
    n_events : int
    n_bootstrap : int
        Bootstrap resamples of the events for the means (the config's ``analysis.bootstrap``).
    seed : int
        Seed of the resampling (the config's ``seed``); every mean is resampled with the same
        seed, so the same event resamples enter every one.

    Returns
    -------
    dict
        ``sample`` (events), counts, and per metric ``{value, lo, hi, method, ...}``; ratios of
        counts have a Clopper–Pearson interval, means over candidates a bootstrap over events.
    """
    cand = candidates["candidate"]
    matched = cand & candidates["matched"]
    n_cand, n_matched = int(cand.sum()), int(matched.sum())
    true_matched = true_clusters["matched"]
    attached = true_clusters["attached"]
    n_true, n_true_matched = len(true_matched), int(true_matched.sum())
    n_att, n_att_matched = int(attached.sum()), int((attached & true_matched).sum())

    def proportion(k: int, n: int) -> dict[str, object]:
        lo, hi = clopper_pearson(k, n)
        return {
            "value": k / n if n else math.nan,
            "lo": lo,
            "hi": hi,
            "k": k,
            "n": n,
            "method": "Clopper-Pearson",
        }

    entry = candidates["entry"][matched]
    n_pix = candidates["n_pix"][matched].astype(np.float64)
    n_good = candidates["n_pix_true"][matched].astype(np.float64)
    n_found = candidates["n_pix_in_matched"][matched].astype(np.float64)
    n_true_pix = candidates["n_pix_matched"][matched].astype(np.float64)
    mean, summed = "mean over matched candidates", "voxel-summed ratio"

    def ratio(num: np.ndarray, den: np.ndarray, what: str) -> dict[str, object]:
        value, lo, hi = ratio_interval(
            num, den, np.random.default_rng(seed), n_bootstrap, CONFIDENCE
        )
        return {
            "value": value,
            "lo": lo,
            "hi": hi,
            "n": n_matched,
            "method": f"{what}; bootstrap over events, {n_bootstrap} resamples, seed {seed}",
        }

    with np.errstate(divide="ignore", invalid="ignore"):
        purity_each = n_good / n_pix
        efficiency_each = n_found / n_true_pix

    def per_event(values: np.ndarray) -> np.ndarray:
        return np.bincount(entry, weights=values.astype(np.float64), minlength=n_events)

    ones = per_event(np.ones(n_matched))

    return {
        "sample": n_events,
        "confidence": CONFIDENCE,
        "bootstrap": {"resamples": n_bootstrap, "seed": seed, "unit": "events"},
        "counts": {
            "events": n_events,
            "predicted_clusters": len(cand),
            "candidates": n_cand,
            "matched_candidates": n_matched,
            "true_clusters": n_true,
            "true_clusters_matched": n_true_matched,
            "true_clusters_attached": n_att,
            "true_clusters_attached_matched": n_att_matched,
            "candidate_voxels_matched": int(n_pix.sum()),
            "candidate_voxels_true_michel": int(n_good.sum()),
            "candidate_voxels_in_matched_cluster": int(n_found.sum()),
            "matched_true_cluster_voxels": int(n_true_pix.sum()),
        },
        "id_purity": proportion(n_matched, n_cand),
        "id_efficiency": proportion(n_true_matched, n_true),
        "id_efficiency_attached": proportion(n_att_matched, n_att),
        "cluster_purity": ratio(per_event(purity_each), ones, mean),
        "cluster_efficiency": ratio(per_event(efficiency_each), ones, mean),
        "cluster_purity_voxels": ratio(per_event(n_good), per_event(n_pix), summed),
        "cluster_efficiency_voxels": ratio(per_event(n_found), per_event(n_true_pix), summed),
    }
