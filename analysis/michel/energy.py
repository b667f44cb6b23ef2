"""Energy response of the matched Michel candidates: reconstructed / deposited per energy bin.

For each matched candidate the ratio r = E_reco / E_dep of its reconstructed energy to the
matched Michel electron's own deposited energy (``e_true_edep``: its ionisation, not its
photons'). Per 5 MeV bin of E_dep: the median of r, and the resolution, half the 16–84 %
interval of r (σ68, equal to the standard deviation for a gaussian, blind to the tails), and a
distribution-free 95 % interval of the median (order statistics, :func:`median_interval`): how
far a bin's median may sit from the true one by chance alone.
"""

from __future__ import annotations

import numpy as np

#: Bins of deposited energy, MeV.
RESPONSE_EDGES = np.arange(0.0, 60.1, 5.0)
#: The energy range of the ±5 % target (docs/study.md §6), MeV.
TARGET_RANGE = (15.0, 45.0)
#: Largest allowed |median − 1| in that range.
TARGET_TOLERANCE = 0.05

#: Columns of :func:`response`, in table order.
RESPONSE_COLUMNS = [
    "e_lo",
    "e_hi",
    "n",
    "median",
    "median_lo",
    "median_hi",
    "q16",
    "q84",
    "sigma68",
]


def median_interval(values: np.ndarray) -> tuple[float, float]:
    """Distribution-free ~95 % interval of the median of ``values`` (order statistics).

    The ranks n/2 ∓ 0.98√n (the normal approximation of the binomial(n, ½) count below the
    median), rounded outwards, 1-based; NaN when they leave the sample (fewer than 8 values).
    """
    v = np.sort(np.asarray(values, np.float64))
    n = len(v)
    lo, hi = int(np.floor(n / 2 - 0.98 * np.sqrt(n))), int(np.ceil(n / 2 + 0.98 * np.sqrt(n)))
    if lo < 1 or hi > n:
        return float("nan"), float("nan")
    return float(v[lo - 1]), float(v[hi - 1])


def response(
    e_dep: np.ndarray, e_reco: np.ndarray, edges: np.ndarray = RESPONSE_EDGES
) -> dict[str, np.ndarray]:
    """Median and σ68 of ``e_reco / e_dep`` per bin of ``e_dep``.

    Parameters
    ----------
    e_dep, e_reco : (M,) arrays
        Deposited and reconstructed energies of matched candidates, MeV; pairs with a NaN or
        ``e_dep <= 0`` are left out.
    edges : array
        Bin edges of ``e_dep``, MeV.

    Returns
    -------
    dict of (B,) arrays
        ``e_lo``, ``e_hi`` (bin edges), ``n``, ``median`` with its 95 % interval
        ``median_lo``/``median_hi``, ``q16``, ``q84`` and ``sigma68 = (q84 − q16) / 2``; NaN
        in empty bins.
    """
    e_dep, e_reco = np.asarray(e_dep, np.float64), np.asarray(e_reco, np.float64)
    ok = np.isfinite(e_dep) & np.isfinite(e_reco) & (e_dep > 0)
    ratio = e_reco[ok] / e_dep[ok]
    which = np.digitize(e_dep[ok], edges) - 1
    nb = len(edges) - 1
    out = {k: np.full(nb, np.nan) for k in ("median", "median_lo", "median_hi", "q16", "q84")}
    out["e_lo"], out["e_hi"] = np.asarray(edges[:-1], float), np.asarray(edges[1:], float)
    out["n"] = np.bincount(which[(which >= 0) & (which < nb)], minlength=nb)
    for b in np.flatnonzero(out["n"]):
        r = ratio[which == b]
        out["median"][b] = np.median(r)
        out["median_lo"][b], out["median_hi"][b] = median_interval(r)
        out["q16"][b], out["q84"][b] = np.quantile(r, [0.16, 0.84])
    out["sigma68"] = 0.5 * (out["q84"] - out["q16"])
    return out


def within_target(table: dict[str, np.ndarray]) -> bool:
    """Whether every bin inside :data:`TARGET_RANGE` has its median within ±5 % of 1.

    An empty bin in the range fails.
    """
    inside = (table["e_lo"] >= TARGET_RANGE[0]) & (table["e_hi"] <= TARGET_RANGE[1])
    medians = table["median"][inside]
    return bool(np.all(np.abs(medians - 1.0) <= TARGET_TOLERANCE))
