"""The files of a Michel run: ``michel.root``, ``michel.parquet`` and ``metrics.json``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from lartpc_seg.io.atomic import atomic_path


def _tree_columns(columns: dict[str, np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
    return {k: columns[k] for k in names}


def write_root(
    path: Path,
    candidates: dict[str, np.ndarray],
    true_clusters: dict[str, np.ndarray],
    histograms: dict[str, object],
) -> None:
    """Write the ``michel`` and ``michel_true`` TTrees (ZSTD) and the histograms."""
    with atomic_path(path) as tmp, uproot.recreate(tmp, compression=uproot.ZSTD(5)) as file:
        for name, columns in (("michel", candidates), ("michel_true", true_clusters)):
            names = ["event", *[k for k in columns if k not in ("event",)]]
            data = _tree_columns(columns, names)
            tree = file.mktree(name, {k: v.dtype for k, v in data.items()})
            tree.extend(data)
        for name, h in histograms.items():
            file[name] = h


def write_parquet(
    path: Path,
    candidates: dict[str, np.ndarray],
    true_clusters: dict[str, np.ndarray],
    event_numbers: np.ndarray,
) -> None:
    """Write one awkward record per event: ``event``, ``candidates`` and ``true_clusters``."""
    n_events = len(event_numbers)
    record = {"event": event_numbers}
    for name, columns in (("candidates", candidates), ("true_clusters", true_clusters)):
        counts = np.bincount(columns["entry"], minlength=n_events)
        order = np.argsort(columns["entry"], kind="stable")
        fields = {k: v[order] for k, v in columns.items() if k not in ("entry", "event")}
        record[name] = ak.unflatten(ak.zip(fields), counts)
    with atomic_path(path) as tmp:
        ak.to_parquet(ak.zip(record, depth_limit=1), tmp)


def _json_safe(value: object) -> object:
    """``value`` with every NaN float replaced by None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_metrics(path: Path, metrics: dict) -> None:
    """Write ``metrics.json`` as strict JSON (NaN as null)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_json_safe(metrics), indent=2, allow_nan=False) + "\n")
