"""Event files paired with the prediction files of each variant, and per-event confusion counts."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from analysis.accuracy.types import TRUTHS, AccuracyColumn
from analysis.confusion import per_event_confusion
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import EventFile
from lartpc_seg.io.predictions import PredictionFile
from lartpc_seg.labels import NUM_CLASSES


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
