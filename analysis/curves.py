"""Training curves of the variants on one figure: loss and per-class validation accuracy.

The command is :mod:`analysis.curves_command`.

Each log is the CSV the training writes (columns: :data:`lartpc_seg.train.log.LOG_COLUMNS`):
``phase`` is ``train`` or ``val``, accuracies are fractions (NaN when the class is absent).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lartpc_seg.errors import InputError
from lartpc_seg.train.log import ACCURACY_COLUMNS, LOG_COLUMNS, PHASES

#: Line style of each training seed, in the order the seeds first appear.
SEED_LINE_STYLES = ("-", "--", ":", "-.")


@dataclass
class TrainingLog:
    """One variant's training log, split by phase.

    Attributes
    ----------
    variant : str
        Name in the legend.
    path : Path
        The CSV file.
    train, val : dict of str to (R,) float64 array
        Column name → values of the rows of that phase, in file order (``iteration`` included).
    seed : int or None
        Training seed (one line style per seed on the figure), None when not known.
    """

    variant: str
    path: Path
    train: dict[str, np.ndarray]
    val: dict[str, np.ndarray]
    seed: int | None = None


def _number(path: Path, line: int, column: str, text: str) -> float:
    try:
        return float(text) if text.strip() else float("nan")
    except ValueError:
        raise InputError(path, f"line {line}: '{text}' is not a number", field=column) from None


def read_log(path: str | Path, variant: str = "", seed: int | None = None) -> TrainingLog:
    """Read and check a training log.

    Parameters
    ----------
    path : str or Path
        The CSV log.
    variant : str
        Name of the variant (defaults to the parent folder's name).

    Returns
    -------
    TrainingLog

    Raises
    ------
    InputError
        Missing file, missing column, unknown phase, a value that is not a number, or no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        header = [name.lower() for name in reader.fieldnames or []]
        reader.fieldnames = header
        for column in LOG_COLUMNS:
            if column not in header:
                raise InputError(
                    path, f"missing column (header: {','.join(header) or 'empty'})", field=column
                )
        rows: dict[str, list[list[float]]] = {phase: [] for phase in PHASES}
        numeric = [c for c in LOG_COLUMNS if c != "phase"]
        for line, row in enumerate(reader, start=2):
            phase = (row["phase"] or "").strip()
            if phase not in rows:
                raise InputError(
                    path, f"line {line}: phase '{phase}' is not one of {PHASES}", field="phase"
                )
            rows[phase].append([_number(path, line, c, row[c] or "") for c in numeric])
    if not rows["train"] and not rows["val"]:
        raise InputError(path, "the log has no rows")

    def columns(phase_rows: list[list[float]]) -> dict[str, np.ndarray]:
        table = np.array(phase_rows, dtype=np.float64).reshape(len(phase_rows), len(numeric))
        return {c: table[:, i] for i, c in enumerate(numeric)}

    return TrainingLog(
        variant=variant or path.parent.name,
        path=path,
        train=columns(rows["train"]),
        val=columns(rows["val"]),
        seed=seed,
    )


def running_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing running mean over ``window`` entries (fewer at the start), ignoring NaN.

    Parameters
    ----------
    values : (R,) float array
    window : int
        Entries averaged; 1 returns the values unchanged.

    Returns
    -------
    (R,) float64 array
    """
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(values) == 0:
        return values
    ok = np.isfinite(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(ok, values, 0.0))])
    counts = np.concatenate([[0], np.cumsum(ok)])
    end = np.arange(1, len(values) + 1)
    start = np.maximum(end - window, 0)
    n = counts[end] - counts[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (sums[end] - sums[start]) / np.maximum(n, 1), np.nan)


def plot_curves(
    logs: list[TrainingLog],
    path: str | Path,
    *,
    smooth: int = 1,
    data: str = "Simulation",
) -> Path:
    """Draw loss and per-class validation accuracy of every variant on one figure.

    Panels: the loss against iteration (train as a line, validation as markers, log scale),
    then one panel per class with the validation accuracy in percent. One colour per variant
    and, with several training seeds, one line style per seed.

    Parameters
    ----------
    logs : list of TrainingLog
    path : str or Path
        Output image; written atomically.
    smooth : int
        Running-mean window of the train loss, in log rows.
    data : {"Simulation", "Open data"}
        The experiment label's data kind.

    Returns
    -------
    Path
        ``path``.
    """
    from matplotlib.lines import Line2D

    from analysis.plotting import label, plt, save_figure, style

    with style():
        fig, axes = plt.subplots(2, 3, figsize=(21, 12), sharex=True)
        loss_ax, class_axes = axes.flat[0], list(axes.flat[1:])
        colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        variants = list(dict.fromkeys(log.variant for log in logs))
        seeds = list(dict.fromkeys(log.seed for log in logs))
        for log in logs:
            colour = colours[variants.index(log.variant) % len(colours)]
            line = SEED_LINE_STYLES[seeds.index(log.seed) % len(SEED_LINE_STYLES)]
            if len(log.train["iteration"]):
                loss_ax.plot(
                    log.train["iteration"],
                    running_mean(log.train["loss"], smooth),
                    color=colour,
                    ls=line,
                    lw=1.5,
                    alpha=0.8,
                )
            if len(log.val["iteration"]):
                loss_ax.plot(
                    log.val["iteration"],
                    log.val["loss"],
                    "o",
                    color=colour,
                    ms=6,
                    mec="black",
                    mew=0.5,
                )
                for ax, column in zip(class_axes, ACCURACY_COLUMNS.values(), strict=True):
                    ax.plot(
                        log.val["iteration"],
                        100.0 * log.val[column],
                        marker="o",
                        ls=line,
                        color=colour,
                        ms=5,
                        lw=1.5,
                    )
        loss_ax.set_yscale("log")
        loss_ax.set_ylabel("Cross-entropy loss")
        for ax, cls in zip(class_axes, ACCURACY_COLUMNS, strict=True):
            ax.set_title(cls.title, loc="right", fontsize="medium")
            ax.set_ylabel("Validation accuracy [%]")
            ax.set_ylim(top=101.0)
        for ax in axes[-1]:
            ax.set_xlabel("Iteration")
        handles = [
            Line2D([], [], color=colours[i % len(colours)], lw=3, label=variant)
            for i, variant in enumerate(variants)
        ]
        if len(seeds) > 1:
            handles += [
                Line2D(
                    [],
                    [],
                    color="black",
                    ls=SEED_LINE_STYLES[i % len(SEED_LINE_STYLES)],
                    label=f"seed {seed}",
                )
                for i, seed in enumerate(seeds)
            ]
        train_label = "train" if smooth <= 1 else f"train (mean of {smooth})"
        handles += [
            Line2D([], [], color="grey", lw=1.5, label=train_label),
            Line2D([], [], color="grey", marker="o", ls="", mec="black", label="validation"),
        ]
        loss_ax.legend(handles=handles, loc="upper right", fontsize="small")
        label(loss_ax, data=data)
        fig.tight_layout()
        return save_figure(fig, path)
