"""The CSV training log: its columns, written by the trainer and read by ``analysis curves``.

One row per logging interval (``phase`` = ``train``) and per validation (``phase`` = ``val``):
the step, the loss, the accuracy of each class as a fraction (NaN when the class is absent) and
the training throughput. Column names are lower case; logs written before that rule
(``acc_HIP``, ``acc_MIP``) are read by lower-casing their header.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.labels import Label

#: Accuracy column of the training log for each class.
ACCURACY_COLUMNS: dict[Label, str] = {cls: f"acc_{cls.name.lower()}" for cls in Label}
#: Every column of the training log, in file order.
LOG_COLUMNS: tuple[str, ...] = (
    "iteration",
    "phase",
    "loss",
    *ACCURACY_COLUMNS.values(),
    "events_per_s",
)
#: The values of the ``phase`` column.
PHASES = ("train", "val")


def start_log(path: Path, resumed_at: int) -> None:
    """(Re)write the log with its header and the rows up to iteration ``resumed_at``."""
    rows: list[dict[str, str]] = []
    if resumed_at > 0 and path.exists():
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            reader.fieldnames = [name.lower() for name in reader.fieldnames or []]
            rows = [r for r in reader if int(r["iteration"]) <= resumed_at]
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, LOG_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def append_row(
    path: Path, iteration: int, phase: str, loss: float, accuracy: np.ndarray, rate: float
) -> None:
    """Append one row: ``rate`` is events per second (NaN for validation rows)."""
    row = [iteration, phase, f"{loss:.6g}", *(f"{a:.6g}" for a in accuracy), f"{rate:.4g}"]
    with open(path, "a", newline="") as f:
        csv.writer(f).writerow(row)
