"""Summary of the data sets: events, voxels per event, class fractions before and after relabeling.

The command is :mod:`analysis.dataset_summary_command`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.confusion import confusion_counts
from lartpc_seg.io.events import EventFile
from lartpc_seg.labels import NUM_CLASSES, Label

#: Short class names of the CSV columns.
SLUGS: dict[Label, str] = {
    Label.HIP: "hip",
    Label.MIP: "mip",
    Label.SHOWER: "shower",
    Label.DELTA: "delta",
    Label.MICHEL: "michel",
}


@dataclass
class SplitSummary:
    """Tallies of one split.

    Attributes
    ----------
    name : str
        The split (``train``, ``test``, ...).
    files : list of Path
    voxels_per_event : (E,) int64
        Voxel count of each event.
    transitions : (5, 5) int64
        ``transitions[a, b]`` = voxels with original label ``a`` and relabeled label ``b``.
    """

    name: str
    files: list[Path]
    voxels_per_event: np.ndarray
    transitions: np.ndarray

    @property
    def n_events(self) -> int:
        """Number of events."""
        return len(self.voxels_per_event)

    @property
    def n_voxels(self) -> int:
        """Number of voxels."""
        return int(self.transitions.sum())

    def label_fractions(self) -> np.ndarray:
        """(5,) fraction of the voxels in each original class (NaN without voxels)."""
        return _fractions(self.transitions.sum(axis=1))

    def relabel_fractions(self) -> np.ndarray:
        """(5,) fraction of the voxels in each relabeled class (NaN without voxels)."""
        return _fractions(self.transitions.sum(axis=0))

    def relabeled_fraction(self, cls: Label) -> float:
        """Fraction of the voxels originally of class ``cls`` that relabeling made shower."""
        total = self.transitions[cls].sum()
        return float(self.transitions[cls, Label.SHOWER] / total) if total else float("nan")


def _fractions(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.full(len(counts), np.nan)


def summarise_split(name: str, files: list[Path], *, step: int = 200) -> SplitSummary:
    """Read the event files of one split and tally voxels and labels.

    Parameters
    ----------
    name : str
        The split's name.
    files : list of Path
        Its event files.
    step : int
        Events read at a time.

    Returns
    -------
    SplitSummary
    """
    sizes: list[np.ndarray] = []
    transitions = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    for path in files:
        with EventFile(path) as events:
            for start in range(0, len(events), step):
                block = events.read(start, start + step)
                if not block:
                    continue
                sizes.append(np.array([len(e) for e in block], dtype=np.int64))
                transitions += confusion_counts(
                    np.concatenate([e.label for e in block]),
                    np.concatenate([e.relabel for e in block]),
                )
    voxels = np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64)
    return SplitSummary(
        name=name, files=list(files), voxels_per_event=voxels, transitions=transitions
    )


def _pct(value: float) -> float | None:
    return None if np.isnan(value) else 100.0 * float(value)


def _median(values: np.ndarray) -> float:
    return float(np.median(values)) if len(values) else float("nan")


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def csv_rows(summaries: list[SplitSummary]) -> tuple[list[dict], list[str]]:
    """One row per split; fractions in percent."""
    columns = ["split", "n_events", "n_voxels", "voxels_per_event_mean", "voxels_per_event_median"]
    columns += [f"label_{SLUGS[c]}_pct" for c in Label]
    columns += [f"relabel_{SLUGS[c]}_pct" for c in Label]
    columns += ["michel_to_shower_pct", "delta_to_shower_pct"]
    rows = []
    for s in summaries:
        row: dict[str, object] = {
            "split": s.name,
            "n_events": s.n_events,
            "n_voxels": s.n_voxels,
            "voxels_per_event_mean": _mean(s.voxels_per_event),
            "voxels_per_event_median": _median(s.voxels_per_event),
            "michel_to_shower_pct": _pct(s.relabeled_fraction(Label.MICHEL)),
            "delta_to_shower_pct": _pct(s.relabeled_fraction(Label.DELTA)),
        }
        for c, (orig, new) in enumerate(
            zip(s.label_fractions(), s.relabel_fractions(), strict=True)
        ):
            row[f"label_{SLUGS[Label(c)]}_pct"] = _pct(orig)
            row[f"relabel_{SLUGS[Label(c)]}_pct"] = _pct(new)
        rows.append(row)
    return rows, columns


def display_rows(summaries: list[SplitSummary]) -> tuple[list[dict], list[str]]:
    """The Markdown/LaTeX table: one row per quantity, one column per split."""

    def fmt(value: float | None, digits: int) -> str:
        return "—" if value is None or np.isnan(value) else f"{value:.{digits}f}"

    quantities: list[tuple[str, list[str]]] = [
        ("Events", [str(s.n_events) for s in summaries]),
        ("Voxels", [str(s.n_voxels) for s in summaries]),
        ("Voxels per event, mean", [fmt(_mean(s.voxels_per_event), 1) for s in summaries]),
        ("Voxels per event, median", [fmt(_median(s.voxels_per_event), 1) for s in summaries]),
    ]
    for c in Label:
        quantities.append(
            (
                f"{c.title}, original labels [%]",
                [fmt(_pct(s.label_fractions()[c]), 2) for s in summaries],
            )
        )
    for c in Label:
        quantities.append(
            (
                f"{c.title}, relabeled [%]",
                [fmt(_pct(s.relabel_fractions()[c]), 2) for s in summaries],
            )
        )
    for cls, what in ((Label.MICHEL, "Michel"), (Label.DELTA, "Delta")):
        quantities.append(
            (
                f"{what} voxels relabeled shower [%]",
                [fmt(_pct(s.relabeled_fraction(cls)), 1) for s in summaries],
            )
        )
    columns = ["Quantity", *(s.name for s in summaries)]
    rows = [
        {"Quantity": q, **dict(zip(columns[1:], values, strict=True))} for q, values in quantities
    ]
    return rows, columns


def summary_json(summaries: list[SplitSummary]) -> dict:
    """JSON-ready summary of every split (NaN → null)."""

    def listed(values: np.ndarray) -> list[float | None]:
        return [None if np.isnan(v) else float(v) for v in values]

    def number(value: float) -> float | None:
        return None if np.isnan(value) else value

    return {
        "classes": [c.title for c in Label],
        "splits": {
            s.name: {
                "files": [str(p) for p in s.files],
                "n_events": s.n_events,
                "n_voxels": s.n_voxels,
                "voxels_per_event_mean": number(_mean(s.voxels_per_event)),
                "voxels_per_event_median": number(_median(s.voxels_per_event)),
                "label_fractions": listed(s.label_fractions()),
                "relabel_fractions": listed(s.relabel_fractions()),
                "michel_to_shower": number(s.relabeled_fraction(Label.MICHEL)),
                "delta_to_shower": number(s.relabeled_fraction(Label.DELTA)),
                "transitions": s.transitions.tolist(),
            }
            for s in summaries
        },
    }


def plot_class_fractions(
    summaries: list[SplitSummary], path: str | Path, *, data: str = "Simulation"
) -> Path:
    """Bar chart of the class fractions, original vs relabeled, one panel per split.

    Parameters
    ----------
    summaries : list of SplitSummary
    path : str or Path
        Output image; written atomically.
    data : {"Simulation", "Open data"}
        The experiment label's data kind.

    Returns
    -------
    Path
        ``path``.
    """
    from analysis.plotting import label, plt, save_figure, style

    x = np.arange(NUM_CLASSES)
    width = 0.4
    with style():
        fig, axes = plt.subplots(
            1, len(summaries), figsize=(9 * len(summaries), 7.5), squeeze=False, sharey=True
        )
        for ax, s in zip(axes[0], summaries, strict=True):
            for offset, fractions, name in (
                (-width / 2, s.label_fractions(), "Original labels"),
                (width / 2, s.relabel_fractions(), "Relabeled"),
            ):
                pct = 100.0 * np.nan_to_num(fractions, nan=0.0)
                bars = ax.bar(x + offset, pct, width, label=name)
                ax.bar_label(bars, labels=[f"{v:.2g}" for v in pct], fontsize=11, padding=2)
            ax.set_yscale("log")
            ax.set_xticks(x, [c.title for c in Label], rotation=25, ha="right")
            ax.minorticks_off()
            ax.tick_params(axis="x", which="both", top=False)
            ax.set_title(
                f"{s.name}: {s.n_events} event{'' if s.n_events == 1 else 's'}",
                loc="right",
                fontsize="medium",
            )
            ax.legend(loc="upper right", fontsize="small")
        axes[0][0].set_ylabel("Fraction of voxels [%]")
        top = max(
            (100.0 * np.nanmax(s.label_fractions()) for s in summaries if s.n_voxels), default=100.0
        )
        axes[0][0].set_ylim(top=top * 8)
        label(axes[0][0], data=data)
        fig.tight_layout()
        return save_figure(fig, path)
