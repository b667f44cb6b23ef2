"""Prediction files (docs/event-format.md): TTree ``predictions``, aligned with the events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np

from lartpc_seg.errors import InputError
from lartpc_seg.io.events import EventFile, FileMeta, write_tree_file
from lartpc_seg.io.validate import open_root, structure_problems
from lartpc_seg.labels import NUM_CLASSES

PREDICTIONS_TREE = "predictions"

PREDICTION_BRANCHES: dict[str, np.dtype] = {
    "event": np.dtype(np.int64),
    "nvox": np.dtype(np.int32),
    "vox_pred": np.dtype(np.int8),
    **{f"vox_score{c}": np.dtype(np.float32) for c in range(NUM_CLASSES)},
}


@dataclass
class Prediction:
    """The network's output for one event, in the voxel order of the event file.

    Attributes
    ----------
    event : int
        Event number, as in the event file.
    pred : (N,) int8
        Predicted class per voxel.
    scores : (N, 5) float32
        Softmax score of each class per voxel.
    """

    event: int
    pred: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.pred)


def write_predictions(
    path: str | Path, predictions: Iterable[Prediction], meta: FileMeta, *, chunk_size: int = 100
) -> int:
    """Write predictions atomically in chunks; returns the number of events written."""
    return write_tree_file(
        path, PREDICTIONS_TREE, predictions, _chunk_columns, meta, chunk_size=chunk_size
    )


def _chunk_columns(chunk: list[Prediction]) -> dict[str, np.ndarray | ak.Array]:
    """Columns of a chunk of predictions (the ``vox_*`` fields share the counter ``nvox``)."""
    counts = np.array([len(p) for p in chunk], np.int64)
    scores = (
        np.concatenate([p.scores for p in chunk]).astype(np.float32)
        if chunk
        else np.zeros((0, NUM_CLASSES), np.float32)
    )
    fields = {
        "pred": np.concatenate([p.pred for p in chunk]).astype(np.int8)
        if chunk
        else np.zeros(0, np.int8)
    }
    fields.update({f"score{c}": scores[:, c] for c in range(NUM_CLASSES)})
    return {
        "event": np.array([p.event for p in chunk], np.int64),
        "vox": ak.unflatten(ak.zip(fields), counts),
    }


class PredictionFile:
    """A predictions file opened for reading, checked against its event file when given one.

    Parameters
    ----------
    path : str or Path
        The predictions file.
    events : EventFile, optional
        The event file the predictions must be aligned with: same number of entries, the same
        event numbers in the same order, and the same voxel count in every event.
    """

    def __init__(self, path: str | Path, events: EventFile | None = None) -> None:
        self.path = Path(path)
        self._file = open_root(self.path)
        problems = structure_problems(self.path, self._file, PREDICTIONS_TREE, PREDICTION_BRANCHES)
        if problems:
            raise problems[0]
        self.tree = self._file[PREDICTIONS_TREE]
        self.meta = FileMeta.read(self.path, self._file)
        if events is not None:
            self._check_aligned(events)

    def __len__(self) -> int:
        return int(self.tree.num_entries)

    def _check_aligned(self, events: EventFile) -> None:
        if len(self) != len(events):
            raise InputError(
                self.path,
                f"{len(self)} events, but its event file {events.path} has {len(events)}",
                field="event",
            )
        mine = self.tree.arrays(["event", "nvox"], library="np")
        theirs = events.tree.arrays(["event", "nvox"], library="np")
        differ = np.flatnonzero(mine["event"] != theirs["event"])
        if differ.size:
            i = differ[0]
            raise InputError(
                self.path,
                f"entry {i} is event {mine['event'][i]} but {events.path} has event "
                f"{theirs['event'][i]} there: the files are not aligned",
                event=int(mine["event"][i]),
                field="event",
            )
        differ = np.flatnonzero(mine["nvox"] != theirs["nvox"])
        if differ.size:
            i = differ[0]
            # The counters disagree: read the entry of each file first, so that a file whose own
            # counter disagrees with its arrays is named, rather than the pair called misaligned.
            events.read(int(i), int(i) + 1)
            self.read(int(i), int(i) + 1)
            raise InputError(
                self.path,
                f"{mine['nvox'][i]} voxels, but {events.path} has {theirs['nvox'][i]}",
                event=int(mine["event"][i]),
                field="nvox",
            )

    def read(self, start: int = 0, stop: int | None = None) -> list[Prediction]:
        """Read the predictions of entries ``start:stop``."""
        stop = len(self) if stop is None else min(stop, len(self))
        if start >= stop:
            return []
        try:
            arrays = self.tree.arrays(list(PREDICTION_BRANCHES), entry_start=start, entry_stop=stop)
        except Exception as err:  # a truncated or damaged file fails deep inside uproot
            raise InputError(
                self.path, f"cannot read entries {start}..{stop} ({type(err).__name__}: {err})"
            ) from err
        counts = ak.to_numpy(ak.num(arrays["vox_pred"], axis=1))
        stored = ak.to_numpy(arrays["nvox"])
        for branch in [f for f in arrays.fields if f.startswith("vox_")]:
            lengths = ak.to_numpy(ak.num(arrays[branch], axis=1))
            bad = np.flatnonzero((lengths != stored) | (counts != stored))
            if bad.size:
                raise InputError(
                    self.path,
                    f"nvox = {stored[bad[0]]} but the arrays hold {lengths[bad[0]]} entries",
                    event=int(arrays["event"][bad[0]]),
                    field=branch,
                )
        offsets = np.concatenate([[0], np.cumsum(counts)])
        pred = ak.to_numpy(ak.flatten(arrays["vox_pred"]))
        bad = np.flatnonzero((pred < 0) | (pred >= NUM_CLASSES))
        if bad.size:
            event_index = np.searchsorted(offsets, bad[0], side="right") - 1
            raise InputError(
                self.path,
                f"predicted class {pred[bad[0]]} outside 0..{NUM_CLASSES - 1}",
                event=int(arrays["event"][event_index]),
                field="vox_pred",
            )
        scores = np.stack(
            [ak.to_numpy(ak.flatten(arrays[f"vox_score{c}"])) for c in range(NUM_CLASSES)], axis=1
        )
        numbers = ak.to_numpy(arrays["event"])
        return [
            Prediction(
                event=int(numbers[i]),
                pred=pred[offsets[i] : offsets[i + 1]],
                scores=scores[offsets[i] : offsets[i + 1]],
            )
            for i in range(len(numbers))
        ]

    def close(self) -> None:
        """Close the underlying file."""
        self._file.close()

    def __enter__(self) -> PredictionFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
