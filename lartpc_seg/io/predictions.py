"""Prediction files (docs/event-format.md): TTree ``predictions``, aligned with the events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np

from lartpc_seg.errors import InputError
from lartpc_seg.io.digest import check_made_from
from lartpc_seg.io.events import EventFile
from lartpc_seg.io.root import FileMeta, TreeFile, write_tree_file
from lartpc_seg.io.validate import prediction_problems
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
    """Write predictions atomically in chunks; returns the number of events written.

    ``meta`` is written with the predictions' content digest added as ``content_sha256``.
    """
    return write_tree_file(
        path,
        PREDICTIONS_TREE,
        PREDICTION_BRANCHES,
        predictions,
        _chunk_columns,
        meta,
        chunk_size=chunk_size,
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


class PredictionFile(TreeFile):
    """A predictions file opened for reading, checked against its event file when given one.

    Opening checks the structure; reading checks the content of the entries read (see
    :func:`lartpc_seg.io.validate.prediction_problems`) and the arrays against the file's
    content digest, whole reads and partial ones alike (see :class:`~lartpc_seg.io.root.TreeFile`).

    Parameters
    ----------
    path : str or Path
        The predictions file.
    events : EventFile, optional
        The event file the predictions must be aligned with: same number of entries, the same
        event numbers in the same order, and the same voxel count in every event.
    """

    TREE = PREDICTIONS_TREE
    BRANCHES = PREDICTION_BRANCHES
    REMAKE = "make it again with `python -m lartpc_seg infer` (or delete it and rerun the workflow)"

    def __init__(self, path: str | Path, events: EventFile | None = None) -> None:
        super().__init__(path)
        if events is not None:
            try:
                self._check_aligned(events)
            except InputError:
                self.close()
                raise

    def __enter__(self) -> PredictionFile:
        return self

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
        check_made_from(
            self.path, self.meta.extra.get("events_sha256"), events.path, "events_sha256"
        )

    def read(self, start: int = 0, stop: int | None = None) -> list[Prediction]:
        """Read the predictions of entries ``start:stop``, raising the first content problem."""
        stop = len(self) if stop is None else min(stop, len(self))
        if start >= stop:
            return []
        arrays = self._arrays(start, stop)
        problems = prediction_problems(self.path, arrays)
        if problems:
            raise problems[0]
        counts = ak.to_numpy(ak.num(arrays["vox_pred"], axis=1))
        offsets = np.concatenate([[0], np.cumsum(counts)])
        pred = ak.to_numpy(ak.flatten(arrays["vox_pred"]))
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
