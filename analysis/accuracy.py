"""Per-class non-zero accuracy of the variants (study.md §5), with bootstrap intervals.

Command line::

    python -m analysis accuracy --events data/test/0.root data/test/1.root \\
        --predictions regular=results/pred/regular/0.root,results/pred/regular/1.root \\
        --predictions relabeled=... --predictions weighted=... \\
        --column regular_regular=regular:label \\
        --column regular_relabeled=regular:relabel \\
        --column relabeled_relabeled=relabeled:relabel \\
        --column weighted_relabeled=weighted:relabel \\
        --out results/tables/accuracy --plots results/plots/accuracy --bootstrap 1000 --seed 0

A *column* scores one variant's predictions against one set of true labels (``label`` =
``vox_label``, ``relabel`` = ``vox_relabel``). The prediction files of a variant are aligned one
to one, in order, with the event files. Writes ``<out>.{csv,md,tex,json}`` and, with
``--plots``, one row-normalised confusion matrix per column (``confusion_<column>.png``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.arguments import add_data_option, named_paths
from analysis.bootstrap import bootstrap_statistic, percentile_interval
from analysis.confusion import confusion_counts, per_event_confusion, plot_confusion
from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.io.events import EventFile
from lartpc_seg.io.predictions import PredictionFile
from lartpc_seg.labels import NUM_CLASSES, Label

__all__ = [
    "PAPER_ACCURACY_PCT",
    "AccuracyColumn",
    "ColumnResult",
    "aligned_files",
    "bootstrap_interval",
    "collect_per_event_counts",
    "configure_parser",
    "confusion_counts",
    "per_class_accuracy",
    "run",
    "score_columns",
]

#: Which true labels a column scores against: name on the command line → ``Event`` attribute.
TRUTHS = {"label": "label", "relabel": "relabel"}
_TRUTH_TITLES = {"label": "Regular", "relabel": "Relabeled"}
_VARIANT_TITLES = {
    "regular": "Regular",
    "relabeled": "Relabeled",
    "weighted": "Relabeled + weighting",
}

#: The four columns of study.md §5: key → (variant, truth).
STUDY_COLUMNS: dict[str, tuple[str, str]] = {
    "regular_regular": ("regular", "label"),
    "regular_relabeled": ("regular", "relabel"),
    "relabeled_relabeled": ("relabeled", "relabel"),
    "weighted_relabeled": ("weighted", "relabel"),
}

#: Non-zero accuracy per class in percent, from the ACAT 2019 slides of Domine & Terao
#: (study.md §5), by column key and class.
PAPER_ACCURACY_PCT: dict[str, dict[Label, float]] = {
    "regular_regular": dict(zip(Label, (98.0, 99.4, 99.4, 85.7, 56.6), strict=True)),
    "regular_relabeled": dict(zip(Label, (98.1, 99.2, 97.9, 94.8, 94.4), strict=True)),
    "relabeled_relabeled": dict(zip(Label, (98.1, 99.4, 99.2, 96.0, 94.7), strict=True)),
    "weighted_relabeled": dict(zip(Label, (99.3, 98.1, 99.2, 97.2, 95.7), strict=True)),
}


@dataclass(frozen=True)
class AccuracyColumn:
    """One column of the table: a variant's predictions against a set of true labels.

    Attributes
    ----------
    key : str
        Column name in the CSV and JSON (``regular_relabeled``).
    variant : str
        Name of the prediction set (``regular``).
    truth : str
        ``"label"`` (``vox_label``) or ``"relabel"`` (``vox_relabel``).
    """

    key: str
    variant: str
    truth: str

    @property
    def title(self) -> str:
        """Header as the paper prints it, e.g. "Relabeled + weighting → Relabeled"."""
        variant = _VARIANT_TITLES.get(self.variant, self.variant)
        return f"{variant} → {_TRUTH_TITLES[self.truth]}"


@dataclass
class ColumnResult:
    """The scores of one column.

    Attributes
    ----------
    column : AccuracyColumn
    counts : (5, 5) int64
        Confusion counts over the whole test set, rows true class, columns predicted class.
    accuracy : (5,) float64
        Non-zero accuracy per class as a fraction; NaN for a class with no true voxel.
    lo, hi : (5,) float64
        Bootstrap interval of ``accuracy`` (NaN when no bootstrap was run).
    n_events : int
        Events scored.
    """

    column: AccuracyColumn
    counts: np.ndarray
    accuracy: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n_events: int


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


def aligned_files(
    event_paths: list[Path],
    predictions: dict[str, list[Path]],
    columns: list[AccuracyColumn],
) -> Iterator[tuple[EventFile, dict[str, PredictionFile]]]:
    """Open each event file with the aligned prediction file of every variant the columns use.

    Yields ``(events, {variant: predictions})`` per event file, in order, the files open until
    the next one is taken.

    Raises
    ------
    InputError
        A column whose variant has no predictions, a variant without one prediction file per
        event file, or a prediction file not aligned with its event file.
    """
    for column in columns:
        if column.variant not in predictions:
            raise InputError(
                None,
                f"column '{column.key}' uses variant '{column.variant}', which has no "
                f"--predictions (have: {', '.join(sorted(predictions)) or 'none'})",
                field="--column",
            )
    used = sorted({column.variant for column in columns})
    for variant in used:
        if len(predictions[variant]) != len(event_paths):
            raise InputError(
                None,
                f"variant '{variant}' has {len(predictions[variant])} prediction files but "
                f"{len(event_paths)} event files are given; they pair one to one, in order",
                field="--predictions",
            )
    for index, event_path in enumerate(event_paths):
        with contextlib.ExitStack() as stack:
            events = stack.enter_context(EventFile(event_path))
            files = {
                v: stack.enter_context(PredictionFile(predictions[v][index], events=events))
                for v in used
            }
            yield events, files


def collect_per_event_counts(
    event_paths: list[Path],
    predictions: dict[str, list[Path]],
    columns: list[AccuracyColumn],
    *,
    step: int = 200,
) -> dict[str, np.ndarray]:
    """Per-event confusion counts of every column over the test files.

    Parameters
    ----------
    event_paths : list of Path
        Event files, in order.
    predictions : dict of str to list of Path
        Prediction files of each variant, aligned one to one with ``event_paths``.
    columns : list of AccuracyColumn
        The columns to score.
    step : int
        Events read at a time.

    Returns
    -------
    dict of str to (E, 5, 5) int64 array
        Column key → confusion counts of each event of all files, in file order.

    Raises
    ------
    InputError
        A variant without the right number of files, or a prediction file that is not aligned
        with its event file (different event numbers or voxel counts).
    """
    blocks: dict[str, list[np.ndarray]] = {column.key: [] for column in columns}
    for events, files in aligned_files(event_paths, predictions, columns):
        for start in range(0, len(events), step):
            block = events.read(start, start + step)
            counts = np.array([len(e) for e in block], dtype=np.int64)
            truths = {
                t: np.concatenate([getattr(e, attr) for e in block]) for t, attr in TRUTHS.items()
            }
            preds = {
                v: np.concatenate([p.pred for p in f.read(start, start + step)])
                for v, f in files.items()
            }
            for column in columns:
                blocks[column.key].append(
                    per_event_confusion(truths[column.truth], preds[column.variant], counts)
                )
    empty = np.zeros((0, NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    return {key: np.concatenate(b) if b else empty for key, b in blocks.items()}


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


def _pct(value: float) -> float | None:
    """Fraction → percent, or None for NaN (an empty cell)."""
    return None if np.isnan(value) else 100.0 * float(value)


def _cell(value: float, lo: float, hi: float) -> str:
    if np.isnan(value):
        return "—"
    if np.isnan(lo):
        return f"{100.0 * value:.1f}"
    return f"{100.0 * value:.1f} [{100.0 * lo:.1f}, {100.0 * hi:.1f}]"


def csv_rows(results: list[ColumnResult]) -> tuple[list[dict], list[str]]:
    """Rows and columns of the numeric table: one row per class, percent, ``*_lo``/``*_hi``."""
    columns = ["class"]
    for r in results:
        columns += [r.column.key, f"{r.column.key}_lo", f"{r.column.key}_hi"]
    rows = []
    for cls in Label:
        row: dict[str, object] = {"class": cls.title}
        for r in results:
            row[r.column.key] = _pct(r.accuracy[cls])
            row[f"{r.column.key}_lo"] = _pct(r.lo[cls])
            row[f"{r.column.key}_hi"] = _pct(r.hi[cls])
        rows.append(row)
    return rows, columns


def display_rows(results: list[ColumnResult]) -> tuple[list[dict], list[str]]:
    """Rows of the Markdown/LaTeX table: "value [lo, hi]" next to the slide value per column."""
    columns = ["Class"]
    for r in results:
        columns.append(r.column.title)
        if r.column.key in PAPER_ACCURACY_PCT:
            columns.append(f"{r.column.title} (paper)")
    rows = []
    for cls in Label:
        row: dict[str, object] = {"Class": cls.title}
        for r in results:
            row[r.column.title] = _cell(r.accuracy[cls], r.lo[cls], r.hi[cls])
            if r.column.key in PAPER_ACCURACY_PCT:
                row[f"{r.column.title} (paper)"] = f"{PAPER_ACCURACY_PCT[r.column.key][cls]:.1f}"
        rows.append(row)
    return rows, columns


def results_json(results: list[ColumnResult], *, n_bootstrap: int, seed: int, level: float) -> dict:
    """Everything the README generator needs, as JSON-ready values (NaN → null)."""

    def listed(values: np.ndarray) -> list[float | None]:
        return [None if np.isnan(v) else float(v) for v in values]

    return {
        "classes": [cls.title for cls in Label],
        "accuracy_unit": "fraction 0..1 (paper values in percent)",
        "bootstrap": {"resamples": n_bootstrap, "seed": seed, "level": level, "unit": "events"},
        "columns": {
            r.column.key: {
                "title": r.column.title,
                "variant": r.column.variant,
                "truth": f"vox_{r.column.truth}",
                "n_events": r.n_events,
                "n_voxels": int(r.counts.sum()),
                "n_voxels_per_class": [int(v) for v in r.counts.sum(axis=1)],
                "accuracy": listed(r.accuracy),
                "accuracy_lo": listed(r.lo),
                "accuracy_hi": listed(r.hi),
                "confusion": r.counts.tolist(),
                "paper_accuracy_pct": (
                    [PAPER_ACCURACY_PCT[r.column.key][cls] for cls in Label]
                    if r.column.key in PAPER_ACCURACY_PCT
                    else None
                ),
            }
            for r in results
        },
    }


def write_outputs(
    results: list[ColumnResult],
    stem: Path,
    plots: Path | None,
    *,
    n_bootstrap: int,
    seed: int,
    level: float,
    data: str = "Simulation",
) -> None:
    """Write ``<stem>.{csv,md,tex,json}`` and, with ``plots``, the confusion matrices."""
    from analysis.tables import write_table

    n_events = results[0].n_events if results else 0
    n_voxels = int(results[0].counts.sum()) if results else 0
    interval = (
        f"{100 * level:.0f} % bootstrap intervals over events ({n_bootstrap} resamples)"
        if n_bootstrap > 0
        else "no intervals"
    )
    caption = (
        f"Non-zero accuracy per class in percent (train → test labels), {n_events} test events, "
        f"{n_voxels} voxels; {interval}; '—' = class absent. Paper: ACAT 2019 slides."
    )
    rows, columns = csv_rows(results)
    write_table(rows, columns, stem, caption, formats=("csv",))
    rows, columns = display_rows(results)
    write_table(rows, columns, stem, caption, formats=("md", "tex", "html"))
    with atomic_path(stem.parent / f"{stem.name}.json") as tmp:
        payload = results_json(results, n_bootstrap=n_bootstrap, seed=seed, level=level)
        tmp.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    if plots is not None:
        for r in results:
            plot_confusion(
                r.counts, r.column.title, plots / f"confusion_{r.column.key}.png", data=data
            )


def parse_column(text: str) -> AccuracyColumn:
    """Parse ``KEY=VARIANT:TRUTH`` (TRUTH is ``label`` or ``relabel``)."""
    key, sep, rest = text.partition("=")
    variant, sep2, truth = rest.partition(":")
    if not (sep and sep2 and key and variant) or truth not in TRUTHS:
        raise argparse.ArgumentTypeError(
            f"expected KEY=VARIANT:TRUTH with TRUTH one of {', '.join(TRUTHS)}, got '{text}'"
        )
    return AccuracyColumn(key=key, variant=variant, truth=truth)


def add_prediction_options(parser: argparse.ArgumentParser) -> None:
    """``--predictions VARIANT=PATHS`` and ``--column KEY=VARIANT:TRUTH``, repeatable."""
    parser.add_argument(
        "--predictions",
        action="append",
        type=named_paths,
        required=True,
        metavar="VARIANT=PATH[,PATH...]",
        help="prediction files of a variant, one per event file, same order (repeat per variant)",
    )
    parser.add_argument(
        "--column",
        action="append",
        type=parse_column,
        default=None,
        metavar="KEY=VARIANT:TRUTH",
        help="a table column: VARIANT's predictions scored against TRUTH "
        "(label = vox_label, relabel = vox_relabel); repeat per column. "
        "Default: the four columns of the study (regular_regular=regular:label, "
        "regular_relabeled=regular:relabel, relabeled_relabeled=relabeled:"
        "relabel, weighted_relabeled=weighted:relabel)",
    )


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``python -m analysis accuracy``."""
    parser.add_argument(
        "--events",
        nargs="+",
        type=Path,
        required=True,
        metavar="FILE",
        help="test event files, in order",
    )
    add_prediction_options(parser)
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="STEM",
        help="output stem: writes STEM.csv, .md, .tex and .json",
    )
    parser.add_argument(
        "--plots",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for the confusion matrices (confusion_<column>.png)",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples of the events for the intervals (0: none)",
    )
    parser.add_argument("--level", type=float, default=0.95, help="coverage of the intervals")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    add_data_option(parser)


def run(args: argparse.Namespace) -> int:
    """Score the columns, write the tables, the JSON and the confusion matrices."""
    if not 0.0 < args.level < 1.0:
        raise InputError(
            None, f"must lie strictly between 0 and 1, got {args.level}", field="--level"
        )
    if args.bootstrap < 0:
        raise InputError(None, f"must be 0 or more, got {args.bootstrap}", field="--bootstrap")
    predictions: dict[str, list[Path]] = {}
    for variant, files in args.predictions:
        if variant in predictions:
            raise InputError(None, f"variant '{variant}' given twice", field="--predictions")
        predictions[variant] = files
    columns = args.column or [
        AccuracyColumn(key, variant, truth) for key, (variant, truth) in STUDY_COLUMNS.items()
    ]
    keys = [c.key for c in columns]
    if len(set(keys)) != len(keys):
        raise InputError(None, f"column keys must be unique, got {keys}", field="--column")
    per_event = collect_per_event_counts(list(args.events), predictions, columns)
    results = score_columns(
        per_event, columns, n_bootstrap=args.bootstrap, seed=args.seed, level=args.level
    )
    write_outputs(
        results,
        args.out,
        args.plots,
        n_bootstrap=args.bootstrap,
        seed=args.seed,
        level=args.level,
        data=args.data,
    )
    for r in results:
        cells = ", ".join(
            f"{cls.title} {_cell(r.accuracy[cls], r.lo[cls], r.hi[cls])}" for cls in Label
        )
        print(f"{r.column.title}: {cells}")
    return 0
