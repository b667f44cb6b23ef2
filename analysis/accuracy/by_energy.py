"""Accuracy of an electron class by the true kinetic energy of the electron each voxel is from.

The voxels of true class ``delta`` (or ``michel``) are binned by the initial kinetic energy of
their electron: the nearest particle of that class among the voxel's dominant particle and its
ancestors (``part_parent``), so a δ ray's bremsstrahlung photons' voxels count with the δ ray.
A voxel whose dominant particle descends from no such electron (a voxel a δ ray shares with the
track it leaves, where the track deposited more: the voxel label takes the highest class) has
its own row. Each column gives the share of the class's voxels in a row and the non-zero
accuracy there, with a 95 % bootstrap interval over events (as the accuracy table; the same seed
resamples the same events in every column). Writes ``<out>.{csv,md,tex,html}``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.accuracy.pairing import aligned_files
from analysis.accuracy.types import TRUTHS, AccuracyColumn
from analysis.bootstrap import bootstrap_statistic, percentile_interval
from lartpc_seg.ancestry import nearest_ancestor
from lartpc_seg.io.events import ParticleTable
from lartpc_seg.labels import Label

#: Classes the command bins, by their name on the command line.
CLASSES = {"delta": Label.DELTA, "michel": Label.MICHEL}


#: Default bin edges, MeV: δ rays above the simulator's 1 MeV cut (docs/physics.md §3: ~1.5
#: voxels at 1 MeV, ~4 at 3 MeV), Michel electrons up to the 52.8 MeV end point.
DEFAULT_BINS_MEV = {
    "delta": [1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 1000.0],
    "michel": [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
}


def source_electron(particles: ParticleTable, cls: Label) -> np.ndarray:
    """For every particle, the nearest of itself and its ancestors whose class is ``cls``.

    Parameters
    ----------
    particles : ParticleTable
    cls : Label

    Returns
    -------
    (P,) int64
        Particle index, -1 where no particle of the chain has class ``cls``.
    """
    return nearest_ancestor(particles.parent, np.asarray(particles.cls) == cls)


def electron_energy(part: np.ndarray, particles: ParticleTable, cls: Label) -> np.ndarray:
    """Initial kinetic energy (MeV) of the ``cls`` electron of each voxel, NaN where none.

    Parameters
    ----------
    part : (N,) int
        Dominant particle of each voxel (``vox_part``).
    particles : ParticleTable
    cls : Label
    """
    source = source_electron(particles, cls)[np.asarray(part, np.int64)]
    energy = np.full(len(source), np.nan)
    found = source >= 0
    energy[found] = particles.ke[source[found]]
    return energy


@dataclass
class EnergyBinCounts:
    """True and correctly predicted voxels of one column by energy row.

    Rows are the bins ``[edges[i], edges[i+1])``, then "outside the bins", then "no electron of
    the class" (the voxel's dominant particle does not descend from one); the tables leave out
    these two when they hold no voxel.

    Attributes
    ----------
    column : AccuracyColumn
    edges : (B + 1,) float
        Bin edges, MeV.
    per_event : (E, 2, B + 2) int64
        Per event and row: voxels of the class, and those predicted as the class.
    """

    column: AccuracyColumn
    edges: np.ndarray
    per_event: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """(B + 2,) voxels of the class per row."""
        return self.per_event[:, 0].sum(axis=0)

    @property
    def right(self) -> np.ndarray:
        """(B + 2,) voxels of the class predicted as the class, per row."""
        return self.per_event[:, 1].sum(axis=0)

    def interval(
        self, n_bootstrap: int, seed: int, level: float = 0.95
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap interval over events of each row's accuracy, percent (NaN without one)."""
        n_rows = self.per_event.shape[2]
        if n_bootstrap <= 0 or len(self.per_event) == 0:
            return np.full(n_rows, np.nan), np.full(n_rows, np.nan)

        def accuracy(totals: np.ndarray) -> np.ndarray:
            whole, hit = totals[:, 0], totals[:, 1]
            return 100.0 * np.divide(hit, whole, out=np.full(hit.shape, np.nan), where=whole > 0)

        rng = np.random.default_rng(seed)
        samples = bootstrap_statistic(self.per_event, accuracy, rng, n_bootstrap)
        return percentile_interval(samples, level)

    def row_names(self) -> list[str]:
        """``"2–3 MeV"`` for each bin, then the two extra rows."""
        names = [f"{_mev(a)}–{_mev(b)} MeV" for a, b in itertools.pairwise(self.edges)]
        return [*names, "outside the bins", "no electron of the class"]


def _mev(value: float) -> str:
    return f"{value:g}"


def _row_index(energy: np.ndarray, edges: np.ndarray) -> np.ndarray:
    n_bins = len(edges) - 1
    index = np.searchsorted(edges, energy, side="right") - 1
    index = np.where((index < 0) | (index >= n_bins), n_bins, index)
    return np.where(np.isnan(energy), n_bins + 1, index)


def count_by_energy(
    event_paths: list[Path],
    predictions: dict[str, list[Path]],
    columns: list[AccuracyColumn],
    cls: Label,
    edges: np.ndarray,
) -> list[EnergyBinCounts]:
    """Count the class's true and correctly predicted voxels by electron energy, per column.

    Parameters
    ----------
    event_paths : list of Path
        Test event files, in order.
    predictions : dict of str to list of Path
        Prediction files of each variant, aligned one to one with ``event_paths``.
    columns : list of AccuracyColumn
    cls : Label
    edges : (B + 1,) float
        Increasing bin edges, MeV.

    Raises
    ------
    InputError
        A column whose variant has no predictions, a variant with the wrong number of files, or
        a prediction file not aligned with its event file.
    """
    n_rows = len(edges) + 1
    tallies: dict[str, list[np.ndarray]] = {c.key: [] for c in columns}
    for events, files in aligned_files(event_paths, predictions, columns):
        preds = {v: f.read() for v, f in files.items()}
        for k, event in enumerate(events.read()):
            rows = _row_index(electron_energy(event.part, event.particles, cls), edges)
            for column in columns:
                truth = getattr(event, TRUTHS[column.truth]) == cls
                hit = truth & (preds[column.variant][k].pred == cls)
                tallies[column.key].append(
                    np.stack(
                        [
                            np.bincount(rows[truth], minlength=n_rows),
                            np.bincount(rows[hit], minlength=n_rows),
                        ]
                    )
                )
    empty = np.zeros((0, 2, n_rows), np.int64)
    return [
        EnergyBinCounts(c, edges, np.stack(tallies[c.key]) if tallies[c.key] else empty)
        for c in columns
    ]


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else math.nan


def write_outputs(
    results: list[EnergyBinCounts],
    cls_name: str,
    stem: Path,
    *,
    n_bootstrap: int = 0,
    seed: int = 0,
) -> None:
    """``<stem>.{csv,md,tex,html}``: per row, each column's share of the class, its accuracy and
    the accuracy's bootstrap interval (``*_lo``/``*_hi`` in the CSV, ``[lo, hi]`` in the others).
    """
    from analysis.tables import write_table

    columns = ["energy"]
    for r in results:
        key = r.column.key
        columns += [f"{key}_share", key, f"{key}_lo", f"{key}_hi"]
    intervals = {r.column.key: r.interval(n_bootstrap, seed) for r in results}
    rows = []
    n_bins = len(results[0].edges) - 1
    for i, name in enumerate(results[0].row_names()):
        if i >= n_bins and not any(r.total[i] for r in results):
            continue
        row: dict[str, object] = {"energy": name}
        for r in results:
            key = r.column.key
            row[f"{key}_share"] = _percent(int(r.total[i]), int(r.total.sum()))
            row[key] = _percent(int(r.right[i]), int(r.total[i]))
            row[f"{key}_lo"] = float(intervals[key][0][i])
            row[f"{key}_hi"] = float(intervals[key][1][i])
        rows.append(row)
    interval = (
        f"95 % bootstrap intervals over events ({n_bootstrap} resamples)"
        if n_bootstrap > 0
        else "no intervals"
    )
    caption = (
        f"Non-zero accuracy of the {cls_name} voxels by the initial kinetic energy of their "
        f"electron, percent, with the share of the class's voxels in each row (train → test "
        f"labels); {interval}."
    )
    write_table(rows, columns, stem, caption, formats=("csv",))
    display = []
    for row in rows:
        shown: dict[str, object] = {"energy": row["energy"]}
        for r in results:
            key = r.column.key
            share, acc = row[f"{key}_share"], row[key]
            lo, hi = row[f"{key}_lo"], row[f"{key}_hi"]
            bounds = "" if math.isnan(lo) else f" [{lo:.1f}, {hi:.1f}]"
            shown[r.column.title] = (
                "—" if math.isnan(share) or share == 0 else f"{acc:.1f}{bounds} ({share:.1f} %)"
            )
        display.append(shown)
    write_table(
        display,
        ["energy", *(r.column.title for r in results)],
        stem,
        caption + " Cells: accuracy [interval] (share of the class's voxels).",
        formats=("md", "tex", "html"),
    )
