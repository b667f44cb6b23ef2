"""Michel energy spectra, resolution, purity/efficiency vs energy.

The reconstructed energy is the sum of a candidate's voxel energies (MeV), calibrated when a
calibration fitted on the training split is given (:mod:`analysis.michel.calibration`). The true
energies are the Michel electron's initial kinetic energy and the energy it deposited itself
(``e_true_edep``: its own ionisation); the deposited energy is lower, as ~30 % of a Michel's
energy leaves as bremsstrahlung photons whose deposits are relabeled shower (docs/physics.md §5).
"""

from __future__ import annotations

from pathlib import Path

import hist
import mplhep
import numpy as np
from hist.intervals import clopper_pearson_interval, poisson_interval

from analysis.plotting import label, plt, save_figure, style

#: Energy axis of the spectra: 0-70 MeV (the Michel endpoint is 52.8 MeV, docs/physics.md §6).
ENERGY_BINS = (35, 0.0, 70.0)
#: Coarser bins of true energy for resolution and efficiency curves, MeV.
CURVE_EDGES = np.arange(0.0, 60.1, 5.0)


def resolution(
    e_true: np.ndarray, e_reco: np.ndarray, edges: np.ndarray = CURVE_EDGES
) -> dict[str, np.ndarray]:
    """Bias and resolution of ``(reco − true) / true`` in bins of true energy.

    Returns
    -------
    dict of (B,) arrays
        ``center`` (MeV), ``n``, ``bias`` (mean), ``sigma`` (standard deviation) and
        ``sigma68`` (half the 16–84 % interval).
    """
    ok = np.isfinite(e_true) & np.isfinite(e_reco) & (e_true > 0)
    e_true, e_reco = e_true[ok], e_reco[ok]
    rel = (e_reco - e_true) / e_true
    which = np.digitize(e_true, edges) - 1
    nb = len(edges) - 1
    out = {k: np.full(nb, np.nan) for k in ("bias", "sigma", "sigma68")}
    out["n"] = np.bincount(which[(which >= 0) & (which < nb)], minlength=nb)
    out["center"] = 0.5 * (edges[1:] + edges[:-1])
    for b in np.flatnonzero(out["n"] >= 2):
        r = rel[which == b]
        out["bias"][b] = r.mean()
        out["sigma"][b] = r.std(ddof=1)
        lo, hi = np.quantile(r, [0.16, 0.84])
        out["sigma68"][b] = 0.5 * (hi - lo)
    return out


def efficiency_points(
    passed: np.ndarray, values: np.ndarray, edges: np.ndarray, coverage: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction passing per bin of ``values`` with its Clopper–Pearson interval.

    Parameters
    ----------
    passed : bool array
        Whether each entry passed (e.g. a true cluster was found).
    values : array
        The quantity binned (e.g. its true energy), same length.
    edges : array
        Bin edges.
    coverage : float
        Central coverage of the interval (0.95, as the Michel table).

    Returns
    -------
    fraction, lower, upper : arrays, one per bin
        NaN in bins without entries. At 0 % and 100 % the interval is one-sided, never empty.
    """
    total, _ = np.histogram(values, bins=edges)
    good, _ = np.histogram(values[passed.astype(bool)], bins=edges)
    fraction = np.divide(good, total, out=np.full(len(total), np.nan), where=total > 0)
    lo, hi = clopper_pearson_interval(good.astype(float), total.astype(float), coverage=coverage)
    empty = total == 0
    lo, hi = np.where(empty, np.nan, lo), np.where(empty, np.nan, hi)
    return fraction, lo, hi


def poisson_errors(counts: np.ndarray) -> np.ndarray:
    """Lower and upper 68 % Poisson (Garwood) errors of bin counts, none on empty bins.

    An empty bin's upper error (1.84) would draw a bar in every empty bin of a sparse spectrum;
    the empty bins are left bare instead.

    Returns
    -------
    (2, n) array
        Distances below and above each count.
    """
    counts = np.asarray(counts, float)
    lo, hi = poisson_interval(counts)
    errors = np.stack([counts - lo, hi - counts])
    return np.where(counts > 0, np.nan_to_num(errors), 0.0)


def ratio_points(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin-by-bin ratio of two histograms' counts and its error from their Poisson errors.

    NaN where the denominator is empty; the two are treated as independent (the error is an
    overestimate when they share entries).
    """
    num, den = np.asarray(num, float), np.asarray(den, float)
    ratio = np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0)
    rel = np.sqrt(
        np.divide(1.0, num, out=np.zeros(len(num)), where=num > 0) + 1.0 / np.maximum(den, 1)
    )
    return ratio, ratio * rel


def npix_range(true_clusters: dict[str, np.ndarray]) -> float:
    """Upper edge of the voxel-count axes, from the true Michel clusters only.

    The true clusters are the same for every variant of a test set, so every variant's figure
    gets the same axis.
    """
    values = true_clusters["n_pix"][np.isfinite(true_clusters["n_pix"])]
    top = np.quantile(values, 0.995) if len(values) else 50.0
    return float(max(20.0, 10.0 * np.ceil(1.5 * top / 10.0)))


def _mesh(ax: plt.Axes, h: hist.Hist) -> object:
    """Draw a 2D histogram (empty bins blank) and return the mesh for the colour bar."""
    values = np.ma.masked_equal(h.values().T, 0)
    return ax.pcolormesh(h.axes[0].edges, h.axes[1].edges, values, cmap="viridis")


def histograms(
    candidates: dict[str, np.ndarray], true_clusters: dict[str, np.ndarray]
) -> dict[str, hist.Hist]:
    """The histograms stored in ``michel.root`` (TH1D/TH2D once written by uproot)."""
    sel = candidates["candidate"]
    matched = sel & candidates["matched"]
    energy = hist.axis.Regular(*ENERGY_BINS, name="e", label="Energy [MeV]")
    top = npix_range(true_clusters)
    nbin = int(min(top, 100))
    h = {}
    h["h_npix"] = (
        hist.Hist.new.Reg(nbin, 0, top, name="n_pix_matched", label="True cluster voxels")
        .Reg(nbin, 0, top, name="n_pix", label="Candidate voxels")
        .Double()
        .fill(candidates["n_pix_matched"][matched], candidates["n_pix"][matched])
    )
    h["h_e_true_ke"] = hist.Hist(energy).fill(true_clusters["e_true_ke"])
    h["h_e_true_dep"] = hist.Hist(energy).fill(true_clusters["e_true_edep"])
    h["h_e_reco"] = hist.Hist(energy).fill(candidates["e_reco"][sel])
    h["h_e_reco_raw"] = hist.Hist(energy).fill(candidates["e_reco_raw"][sel])
    h["h_e_reco_vs_true_ke"] = (
        hist.Hist.new.Reg(*ENERGY_BINS, name="e_true_ke", label="True kinetic energy [MeV]")
        .Reg(*ENERGY_BINS, name="e_reco", label="Reconstructed energy [MeV]")
        .Double()
        .fill(candidates["e_true_ke"][matched], candidates["e_reco"][matched])
    )
    return h


def plot_all(
    candidates: dict[str, np.ndarray],
    true_clusters: dict[str, np.ndarray],
    out_dir: Path,
    *,
    data: str = "Simulation",
    rlabel: str | None = None,
    formats: tuple[str, ...] = ("pdf", "png"),
) -> list[Path]:
    """Draw the Michel figures into ``out_dir``; returns the files written.

    ``michel_npix`` (candidate vs matched-true voxel count, the slide's figure),
    ``michel_energy_spectra`` (true KE, true deposited, reconstructed, with Poisson errors, and
    the ratio of the matched candidates' reconstructed to their true deposited energies),
    ``michel_energy_2d`` (reconstructed vs true KE), ``michel_resolution`` (vs true KE) and
    ``michel_purity_efficiency`` (vs energy, 95 % Clopper–Pearson intervals). Every axis range
    is fixed or follows the true clusters, which all variants share, so figures compare.
    """
    out_dir = Path(out_dir)
    hs = histograms(candidates, true_clusters)
    sel = candidates["candidate"]
    matched = sel & candidates["matched"]
    figures = {}
    with style():
        fig, ax = plt.subplots()
        h = hs["h_npix"]
        mesh = _mesh(ax, h)
        fig.colorbar(mesh, ax=ax, label="Candidates")
        top = h.axes[0].edges[-1]
        ax.plot([0, top], [0, top], "w--", lw=1)
        ax.set_xlabel("Matched true Michel cluster voxels")
        ax.set_ylabel("Candidate voxels")
        label(ax, data, rlabel=rlabel)
        figures["michel_npix"] = fig

        fig, (ax, rax) = plt.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1), "hspace": 0.05}
        )
        spectra = {
            "True kinetic energy": hs["h_e_true_ke"],
            "True deposited (own ionisation)": hs["h_e_true_dep"],
            "Reconstructed (candidates)": hs["h_e_reco"],
        }
        for name, h in spectra.items():
            mplhep.histplot(h, ax=ax, yerr=poisson_errors(h.values()), label=name, lw=1.5)
        width = (ENERGY_BINS[2] - ENERGY_BINS[1]) / ENERGY_BINS[0]
        ax.set_ylabel(f"Michel electrons / {width:g} MeV")
        peak = max((h.values().max() for h in spectra.values() if h.size), default=1.0)
        ax.set_ylim(0, 1.5 * max(peak, 1.0))  # room for the legend
        ax.set_xlim(ENERGY_BINS[1], ENERGY_BINS[2])
        ax.set_xlabel("")
        ax.legend(fontsize="small", loc="upper left")
        label(ax, data, rlabel=rlabel)
        # matched candidates only: each reconstructed energy against its own true cluster's
        # deposited energy, so fakes (no true cluster) and missed clusters stay out of the ratio
        energy = hs["h_e_reco"].axes[0]
        reco = hist.Hist(energy).fill(candidates["e_reco"][matched]).values()
        dep = hist.Hist(energy).fill(candidates["e_true_edep"][matched]).values()
        ratio, err = ratio_points(reco, dep)
        rax.errorbar(energy.centers, ratio, yerr=err, xerr=energy.widths / 2, fmt="ko", ms=3)
        rax.axhline(1.0, color="grey", ls="--", lw=1)
        shown = np.concatenate([ratio - err, ratio + err, [1.0]])
        shown = shown[np.isfinite(shown)]
        low, high = shown.min(), shown.max()
        pad = 0.1 * max(high - low, 0.1)
        rax.set_ylim(max(low - pad, 0.0), high + pad)  # the data's own range, never clipped
        rax.set_ylabel("Reco / dep.\n(matched)", fontsize="small")
        rax.set_xlabel("Energy [MeV]")
        figures["michel_energy_spectra"] = fig

        fig, ax = plt.subplots()
        h = hs["h_e_reco_vs_true_ke"]
        mesh = _mesh(ax, h)
        fig.colorbar(mesh, ax=ax, label="Matched candidates")
        ax.plot([0, ENERGY_BINS[2]], [0, ENERGY_BINS[2]], "w--", lw=1)
        ax.set_xlabel("True Michel kinetic energy [MeV]")
        ax.set_ylabel("Reconstructed energy [MeV]")
        label(ax, data, rlabel=rlabel)
        figures["michel_energy_2d"] = fig

        fig, ax = plt.subplots()
        for name, true in (
            ("vs true kinetic energy", candidates["e_true_ke"]),
            ("vs true deposited energy", candidates["e_true_edep"]),
        ):
            res = resolution(true[matched], candidates["e_reco"][matched])
            ax.errorbar(
                res["center"],
                res["bias"],
                yerr=res["sigma68"],
                marker="o",
                ls="",
                capsize=2,
                label=f"bias ± σ68, {name}",
            )
        ax.axhline(0, color="grey", ls="--", lw=1)
        ax.set_xlim(CURVE_EDGES[0], CURVE_EDGES[-1])
        ax.set_xlabel("True energy [MeV]")
        ax.set_ylabel("(E$_{reco}$ − E$_{true}$) / E$_{true}$")
        ax.legend(fontsize="small")
        label(ax, data, rlabel=rlabel)
        figures["michel_resolution"] = fig

        fig, ax = plt.subplots()
        centers = 0.5 * (CURVE_EDGES[1:] + CURVE_EDGES[:-1])
        # side by side in each bin, so that equal values do not hide one marker under another
        offset = 0.2 * (CURVE_EDGES[1] - CURVE_EDGES[0])
        attached = true_clusters["attached"].astype(bool)
        for name, marker, shift, passed, values in (
            (
                "ID efficiency (all true, vs true KE)",
                "o",
                -offset,
                true_clusters["matched"],
                true_clusters["e_true_ke"],
            ),
            (
                "ID efficiency (attached, vs true KE)",
                "s",
                0.0,
                true_clusters["matched"][attached],
                true_clusters["e_true_ke"][attached],
            ),
            (
                "ID purity (vs reco energy)",
                "^",
                offset,
                candidates["matched"][sel],
                candidates["e_reco"][sel],
            ),
        ):
            frac, lo, hi = efficiency_points(passed, values, CURVE_EDGES)
            ax.errorbar(
                centers + shift,
                frac,
                yerr=[frac - lo, hi - frac],
                marker=marker,
                mfc="none",
                ls="",
                capsize=2,
                label=name,
            )
        ax.set_ylim(0, 1.1)
        ax.set_xlim(CURVE_EDGES[0], CURVE_EDGES[-1])
        ax.set_xlabel("Energy [MeV]")
        ax.set_ylabel("Fraction (95 % Clopper–Pearson)")
        ax.legend(fontsize="small", loc="lower right")
        label(ax, data, rlabel=rlabel)
        figures["michel_purity_efficiency"] = fig

        written = []
        for name, fig in figures.items():
            for i, fmt in enumerate(formats):
                path = out_dir / f"{name}.{fmt}"
                written.append(save_figure(fig, path, close=i == len(formats) - 1))
    return written
