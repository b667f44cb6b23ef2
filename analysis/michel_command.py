"""``python -m analysis michel``: Michel candidates, matching, metrics and energy spectra.

Runs :func:`analysis.michel.michel_event` on every event (in parallel over chunks of events),
and writes into ``--out``:

- ``michel.root``: TTrees ``michel`` (one entry per predicted Michel cluster; ``attached`` and
  ``at_edge`` are the selection tests and ``candidate`` their AND) and ``michel_true`` (one
  entry per true Michel cluster) of event-format.md, plus TH1/TH2 histograms;
- ``michel.parquet``: the same, as one awkward record per event with lists ``candidates`` and
  ``true_clusters``;
- ``metrics.json``: purity and efficiency with 95 % intervals and the counts behind them;
- the figures of :mod:`analysis.spectrum`.

``--truth`` uses the true labels as the prediction (the ceiling of the procedure itself).
``--fit-calibration FILE`` fits the energy scale (run it on the training split); ``--calibration
FILE`` applies one. The uncalibrated sum is always kept as ``e_reco_raw``.
"""

from __future__ import annotations

import argparse
import json
import math
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import awkward as ak
import numpy as np
import uproot
from scipy.stats import beta

from analysis.arguments import add_data_option
from analysis.michel import CANDIDATE_COLUMNS, TRUE_COLUMNS, MichelConfig, michel_event
from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.io.events import EventFile
from lartpc_seg.io.predictions import PredictionFile
from lartpc_seg.progress import Progress

#: Confidence level of every interval.
CONFIDENCE = 0.95
#: Bootstrap replicates over events for the means.
BOOTSTRAP_REPLICATES = 1000


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis michel``."""
    parser.add_argument("--events", type=Path, nargs="+", required=True, help="event files")
    parser.add_argument(
        "--predictions", type=Path, nargs="+", help="prediction files, one per event file"
    )
    parser.add_argument("--out", type=Path, help="output directory")
    parser.add_argument(
        "--truth", action="store_true", help="use the true labels as the prediction (ceiling)"
    )
    parser.add_argument(
        "--labels", choices=("relabel", "label"), default="relabel", help="true labels to use"
    )
    parser.add_argument("--calibration", type=Path, help="JSON energy scale factor to apply")
    parser.add_argument(
        "--fit-calibration",
        type=Path,
        metavar="FILE.json",
        help="fit the energy scale (true KE vs voxel sum of matched candidates) and write it",
    )
    parser.add_argument("--threads", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--chunk", type=int, default=50, help="events per task (progress is counted by task)"
    )
    add_data_option(parser)
    parser.add_argument("--variant", default="", help="variant name shown on the figures")


# --------------------------------------------------------------------------- statistics


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Exact (Clopper–Pearson) interval of a binomial proportion ``k / n``.

    Returns ``(nan, nan)`` when ``n == 0``.
    """
    if n == 0:
        return math.nan, math.nan
    alpha = 1.0 - confidence
    lo = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi


def bootstrap_ratio(
    numerator: np.ndarray,
    denominator: np.ndarray,
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    confidence: float = CONFIDENCE,
    seed: int = 12345,
) -> tuple[float, float, float]:
    """Ratio of sums over events with a percentile bootstrap interval (events resampled).

    Parameters
    ----------
    numerator, denominator : (E,) arrays
        Per-event sums.

    Returns
    -------
    value, lo, hi : float
        NaN when the denominator sums to zero.
    """
    total = float(denominator.sum())
    if total == 0:
        return math.nan, math.nan, math.nan
    value = float(numerator.sum()) / total
    rng = np.random.default_rng(seed)
    n = len(numerator)
    stats = []
    for start in range(0, replicates, 100):
        idx = rng.integers(0, n, size=(min(100, replicates - start), n))
        num, den = numerator[idx].sum(axis=1), denominator[idx].sum(axis=1)
        stats.append(np.divide(num, den, out=np.full(len(num), np.nan), where=den > 0))
    stats = np.concatenate(stats)
    alpha = 1.0 - confidence
    lo, hi = np.nanquantile(stats, [alpha / 2, 1 - alpha / 2])
    return value, float(lo), float(hi)


def _per_event(values: np.ndarray, entry: np.ndarray, n_events: int) -> np.ndarray:
    return np.bincount(entry, weights=values.astype(np.float64), minlength=n_events)


def michel_metrics(
    candidates: dict[str, np.ndarray], true_clusters: dict[str, np.ndarray], n_events: int
) -> dict[str, object]:
    """Identification and cluster purity/efficiency of study.md §6 with 95 % intervals.

    Parameters
    ----------
    candidates : dict of (C,) arrays
        Columns of :data:`analysis.michel.CANDIDATE_COLUMNS` for all events, plus ``entry``
        (event index 0..n_events-1).
    true_clusters : dict of (T,) arrays
        Columns of :data:`analysis.michel.TRUE_COLUMNS` plus ``entry``.
    n_events : int

    Returns
    -------
    dict
        ``sample`` (events), counts, and per metric ``{value, lo, hi, method, ...}``; ratios of
        counts have a Clopper–Pearson interval, means over candidates a bootstrap over events.
    """
    cand = candidates["candidate"]
    matched = cand & candidates["matched"]
    n_cand, n_matched = int(cand.sum()), int(matched.sum())
    true_matched = true_clusters["matched"]
    attached = true_clusters["attached"]
    n_true, n_true_matched = len(true_matched), int(true_matched.sum())
    n_att, n_att_matched = int(attached.sum()), int((attached & true_matched).sum())

    def proportion(k: int, n: int) -> dict[str, object]:
        lo, hi = clopper_pearson(k, n)
        return {
            "value": k / n if n else math.nan,
            "lo": lo,
            "hi": hi,
            "k": k,
            "n": n,
            "method": "Clopper-Pearson",
        }

    entry = candidates["entry"][matched]
    n_pix = candidates["n_pix"][matched].astype(np.float64)
    n_good = candidates["n_pix_true"][matched].astype(np.float64)
    n_true_pix = candidates["n_pix_matched"][matched].astype(np.float64)
    ones = _per_event(np.ones(n_matched), entry, n_events)

    def ratio(num: np.ndarray, den: np.ndarray, what: str) -> dict[str, object]:
        value, lo, hi = bootstrap_ratio(
            _per_event(num, entry, n_events), _per_event(den, entry, n_events)
        )
        return {
            "value": value,
            "lo": lo,
            "hi": hi,
            "n": n_matched,
            "method": f"{what}; bootstrap over events, {BOOTSTRAP_REPLICATES} replicates",
        }

    with np.errstate(divide="ignore", invalid="ignore"):
        purity_each = n_good / n_pix
        efficiency_each = n_good / n_true_pix

    def mean(values: np.ndarray) -> dict[str, object]:
        value, lo, hi = bootstrap_ratio(_per_event(values, entry, n_events), ones)
        return {
            "value": value,
            "lo": lo,
            "hi": hi,
            "n": n_matched,
            "method": f"mean over matched candidates; bootstrap over events, "
            f"{BOOTSTRAP_REPLICATES} replicates",
        }

    return {
        "sample": n_events,
        "confidence": CONFIDENCE,
        "counts": {
            "events": n_events,
            "predicted_clusters": len(cand),
            "candidates": n_cand,
            "matched_candidates": n_matched,
            "true_clusters": n_true,
            "true_clusters_matched": n_true_matched,
            "true_clusters_attached": n_att,
            "true_clusters_attached_matched": n_att_matched,
            "candidate_voxels_matched": int(n_pix.sum()),
            "candidate_voxels_true_michel": int(n_good.sum()),
            "matched_true_cluster_voxels": int(n_true_pix.sum()),
        },
        "id_purity": proportion(n_matched, n_cand),
        "id_efficiency": proportion(n_true_matched, n_true),
        "id_efficiency_attached": proportion(n_att_matched, n_att),
        "cluster_purity": mean(purity_each),
        "cluster_efficiency": mean(efficiency_each),
        "cluster_purity_voxels": ratio(n_good, n_pix, "voxel-summed ratio"),
        "cluster_efficiency_voxels": ratio(n_good, n_true_pix, "voxel-summed ratio"),
    }


# --------------------------------------------------------------------------- running


def _task(
    events_path: Path,
    predictions_path: Path | None,
    start: int,
    stop: int,
    labels: str,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run the procedure on entries ``start:stop`` of one file (in a worker process)."""
    config = MichelConfig()
    with EventFile(events_path) as events_file:
        events = events_file.read(start, stop)
    if predictions_path is not None:
        with PredictionFile(predictions_path) as pred_file:
            preds = [p.pred for p in pred_file.read(start, stop)]
    else:
        preds = [getattr(e, labels) for e in events]
    cands: dict[str, list[np.ndarray]] = {k: [] for k in (*CANDIDATE_COLUMNS, "event", "entry")}
    trues: dict[str, list[np.ndarray]] = {k: [] for k in (*TRUE_COLUMNS, "event", "entry")}
    for i, (event, pred) in enumerate(zip(events, preds, strict=True)):
        truth = getattr(event, labels)
        result = michel_event(
            event.coords, pred, truth, event.energy, event.part, event.particles, config
        )
        for out, columns in ((cands, result.candidates), (trues, result.true_clusters)):
            n = len(next(iter(columns.values())))
            for k, v in columns.items():
                out[k].append(v)
            out["event"].append(np.full(n, event.event, np.int64))
            out["entry"].append(np.full(n, start + i, np.int64))
    return _concat(cands), _concat(trues)


def _concat(columns: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    dtypes = {**CANDIDATE_COLUMNS, **TRUE_COLUMNS, "event": np.int64, "entry": np.int64}
    return {
        k: np.concatenate(v).astype(dtypes[k]) if v else np.zeros(0, dtypes[k])
        for k, v in columns.items()
    }


def run_michel(
    events: list[Path],
    predictions: list[Path] | None,
    *,
    labels: str = "relabel",
    threads: int = 1,
    chunk: int = 50,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int]:
    """Run the procedure over files; ``predictions=None`` uses the true labels.

    Returns
    -------
    candidates, true_clusters : dict of str to array
        Columns of all events; ``entry`` is the event's index across all the files in order.
    n_events : int
    """
    if predictions is not None and len(predictions) != len(events):
        raise InputError(
            None,
            f"{len(predictions)} prediction files for {len(events)} event files",
            field="--predictions",
        )
    tasks = []
    offset = 0
    for i, path in enumerate(events):
        with EventFile(path) as events_file:
            n = len(events_file)
            if predictions is not None:
                PredictionFile(predictions[i], events=events_file).close()
        for start in range(0, n, chunk):
            pred = None if predictions is None else predictions[i]
            tasks.append((path, pred, start, min(start + chunk, n), labels, offset))
        offset += n
    progress = Progress("michel", offset)
    if threads > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=threads) as pool:
            futures = {pool.submit(_task, *t[:5]): t[3] - t[2] for t in tasks}
            for future in as_completed(futures):
                progress.update(futures[future])
            parts = [f.result() for f in futures]
    else:
        parts = []
        for t in tasks:
            parts.append(_task(*t[:5]))
            progress.update(t[3] - t[2])
    progress.close()
    merged = []
    for which, names in enumerate((CANDIDATE_COLUMNS, TRUE_COLUMNS)):
        columns: dict[str, list[np.ndarray]] = {k: [] for k in (*names, "event", "entry")}
        for task, part in zip(tasks, parts, strict=True):
            for k, v in part[which].items():
                columns[k].append(v + task[5] if k == "entry" else v)
        merged.append(_concat(columns))
    return merged[0], merged[1], offset


# --------------------------------------------------------------------------- outputs


def read_calibration(path: Path) -> float:
    """The energy scale factor stored in a calibration JSON file."""
    try:
        factor = float(json.loads(Path(path).read_text())["factor"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(path, f"not a calibration file: {err}", field="factor") from err
    if not math.isfinite(factor) or factor <= 0:
        raise InputError(path, f"calibration factor must be positive, got {factor}", field="factor")
    return factor


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
    n_events: int,
    event_numbers: np.ndarray,
) -> None:
    """Write one awkward record per event: ``event``, ``candidates`` and ``true_clusters``."""
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


def _event_numbers(events: list[Path]) -> np.ndarray:
    numbers = []
    for path in events:
        with EventFile(path) as f:
            numbers.append(f.tree["event"].array(library="np"))
    return np.concatenate(numbers).astype(np.int64)


def run(args: argparse.Namespace) -> int:
    """Run the Michel analysis and write its outputs."""
    from analysis import spectrum

    if args.out is None and args.fit_calibration is None:
        raise InputError(None, "give --out, --fit-calibration, or both", field="--out")
    if not args.truth and not args.predictions:
        raise InputError(
            None, "give --predictions, or --truth to use the true labels", field="--predictions"
        )
    factor = read_calibration(args.calibration) if args.calibration else 1.0
    candidates, true_clusters, n_events = run_michel(
        args.events,
        None if args.truth else args.predictions,
        labels=args.labels,
        threads=args.threads,
        chunk=args.chunk,
    )
    candidates["e_reco"] = (candidates["e_reco_raw"] * factor).astype(np.float32)
    if args.fit_calibration is not None:
        try:
            spectrum.write_calibration(args.fit_calibration, candidates, args.events)
        except ValueError as err:
            raise InputError(args.events[0], f"cannot fit the calibration: {err}") from err
    if args.out is None:
        return 0
    out = Path(args.out)
    metrics = michel_metrics(candidates, true_clusters, n_events)
    metrics.update(
        {
            "events_files": [str(p) for p in args.events],
            "predictions_files": None if args.truth else [str(p) for p in args.predictions],
            "truth": bool(args.truth),
            "labels": args.labels,
            "calibration_factor": factor,
        }
    )
    with atomic_path(out / "metrics.json") as tmp:
        tmp.write_text(json.dumps(_json_safe(metrics), indent=2, allow_nan=False) + "\n")
    write_root(
        out / "michel.root",
        candidates,
        true_clusters,
        spectrum.histograms(candidates, true_clusters),
    )
    write_parquet(
        out / "michel.parquet", candidates, true_clusters, n_events, _event_numbers(args.events)
    )
    spectrum.plot_all(
        candidates,
        true_clusters,
        out,
        data=args.data,
        rlabel=args.variant or ("truth labels" if args.truth else None),
    )
    n_cand = int(candidates["candidate"].sum())
    n_matched = int((candidates["candidate"] & candidates["matched"]).sum())
    print(
        f"wrote {out}: {n_events} events, {n_cand} candidates ({n_matched} matched), "
        f"{len(true_clusters['matched'])} true Michel clusters"
    )
    return 0
