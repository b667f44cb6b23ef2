"""The Michel procedure over event files, in parallel over chunks of events.

Each event file (and its prediction file) is opened once, in the main process, and read a chunk
of events at a time; the chunks go to worker processes, which run
:func:`~analysis.michel.reconstruct.michel_event` on every event.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analysis.michel.reconstruct import CANDIDATE_COLUMNS, TRUE_COLUMNS, MichelConfig, michel_event
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import Event, EventFile
from lartpc_seg.io.predictions import PredictionFile
from lartpc_seg.labels import Label
from lartpc_seg.progress import Progress


@dataclass
class MichelRun:
    """The Michel clusters of every event of a run.

    Attributes
    ----------
    candidates, true_clusters : dict of str to array
        Columns of all events (:data:`~analysis.michel.reconstruct.CANDIDATE_COLUMNS`,
        :data:`~analysis.michel.reconstruct.TRUE_COLUMNS`) plus ``event`` (the event number)
        and ``entry`` (the event's index across all the files, in order).
    event_numbers : (E,) int64
        Event number of each entry.
    """

    candidates: dict[str, np.ndarray]
    true_clusters: dict[str, np.ndarray]
    event_numbers: np.ndarray

    @property
    def n_events(self) -> int:
        """Events analysed."""
        return len(self.event_numbers)


def _task(
    events: list[Event],
    preds: list[tuple[np.ndarray, np.ndarray]] | None,
    first: int,
    labels: str,
    config: MichelConfig,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run the procedure on a chunk of events whose first has entry ``first`` (in a worker).

    ``preds`` holds each event's predicted classes and Michel scores; ``None`` uses the true
    labels, with score 1 on the voxels labelled Michel.
    """
    if preds is None:
        truths = [getattr(e, labels) for e in events]
        preds = [(t, (t == Label.MICHEL).astype(np.float32)) for t in truths]
    cands: dict[str, list[np.ndarray]] = {k: [] for k in (*CANDIDATE_COLUMNS, "event", "entry")}
    trues: dict[str, list[np.ndarray]] = {k: [] for k in (*TRUE_COLUMNS, "event", "entry")}
    for i, (event, (pred, score)) in enumerate(zip(events, preds, strict=True)):
        truth = getattr(event, labels)
        result = michel_event(
            event.coords, pred, truth, event.energy, event.part, event.particles, config, score
        )
        for out, columns in ((cands, result.candidates), (trues, result.true_clusters)):
            n = len(next(iter(columns.values())))
            for k, v in columns.items():
                out[k].append(v)
            out["event"].append(np.full(n, event.event, np.int64))
            out["entry"].append(np.full(n, first + i, np.int64))
    return _concat(cands), _concat(trues)


def _concat(columns: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    dtypes = {**CANDIDATE_COLUMNS, **TRUE_COLUMNS, "event": np.int64, "entry": np.int64}
    return {
        k: np.concatenate(v).astype(dtypes[k]) if v else np.zeros(0, dtypes[k])
        for k, v in columns.items()
    }


def _chunks(
    events: list[Path], predictions: list[Path] | None, chunk: int
) -> Iterator[tuple[list[Event], list[tuple[np.ndarray, np.ndarray]] | None]]:
    """Chunks of events, with their predicted classes and Michel scores, reading every file
    once."""
    for i, path in enumerate(events):
        with contextlib.ExitStack() as stack:
            events_file = stack.enter_context(EventFile(path))
            pred_file = (
                None
                if predictions is None
                else stack.enter_context(PredictionFile(predictions[i], events=events_file))
            )
            for start in range(0, len(events_file), chunk):
                block = events_file.read(start, start + chunk)
                preds = (
                    None
                    if pred_file is None
                    else [
                        (p.pred, p.scores[:, Label.MICHEL])
                        for p in pred_file.read(start, start + chunk)
                    ]
                )
                yield block, preds


def run_michel(
    events: list[Path],
    predictions: list[Path] | None,
    *,
    labels: str = "relabel",
    threads: int = 1,
    chunk: int = 50,
    config: MichelConfig | None = None,
) -> MichelRun:
    """Run the procedure over files; ``predictions=None`` uses the true labels.

    Parameters
    ----------
    events : list of Path
        Event files, in order.
    predictions : list of Path or None
        Prediction files aligned one to one with ``events``.
    labels : {"relabel", "label"}
        The true labels (and the prediction with ``predictions=None``).
    threads : int
        Worker processes.
    chunk : int
        Events per task.
    config : MichelConfig, optional
        Parameters of the procedure (default: ``MichelConfig()``).
    """
    config = MichelConfig() if config is None else config
    if predictions is not None and len(predictions) != len(events):
        raise InputError(
            None,
            f"{len(predictions)} prediction files for {len(events)} event files",
            field="--predictions",
        )
    numbers: list[np.ndarray] = []
    parts = []
    sizes = []
    total = 0
    for path in events:
        with EventFile(path) as events_file:
            total += len(events_file)
    progress = Progress("michel", total)
    with contextlib.ExitStack() as stack:
        pool = (
            stack.enter_context(ProcessPoolExecutor(max_workers=threads)) if threads > 1 else None
        )
        first = 0
        for block, preds in _chunks(events, predictions, chunk):
            numbers.append(np.array([e.event for e in block], np.int64))
            if pool is None:
                parts.append(_task(block, preds, first, labels, config))
                progress.update(len(block))
            else:
                parts.append(pool.submit(_task, block, preds, first, labels, config))
                sizes.append(len(block))
            first += len(block)
        if pool is not None:
            done = []
            for future, size in zip(parts, sizes, strict=True):
                done.append(future.result())
                progress.update(size)
            parts = done
    progress.close()
    merged = []
    for which, names in enumerate((CANDIDATE_COLUMNS, TRUE_COLUMNS)):
        columns: dict[str, list[np.ndarray]] = {k: [] for k in (*names, "event", "entry")}
        for part in parts:
            for k, v in part[which].items():
                columns[k].append(v)
        merged.append(_concat(columns))
    event_numbers = np.concatenate(numbers) if numbers else np.zeros(0, np.int64)
    return MichelRun(merged[0], merged[1], event_numbers)
