"""``python -m analysis michel``: Michel candidates, matching, metrics and energy spectra.

Runs :func:`analysis.michel.reconstruct.michel_event` on every event
(:func:`analysis.michel.run.run_michel`) and writes into ``--out``:

- ``michel.root``: TTrees ``michel`` (one entry per predicted Michel cluster; ``attached`` and
  ``at_edge`` are the selection tests and ``candidate`` their AND) and ``michel_true`` (one
  entry per true Michel cluster) of docs/event-format.md, plus TH1/TH2 histograms;
- ``michel.parquet``: the same, as one awkward record per event with lists ``candidates`` and
  ``true_clusters``;
- ``metrics.json``: purity and efficiency with 95 % intervals and the counts behind them, of
  the paper's selection (top level) and of the added selection (``added``,
  :data:`analysis.michel.selection.ADDED`, on the grown clusters; the clusters it keeps are
  flagged ``selected``, the true clusters they match ``matched_added``);
- ``energy.json``: the energy response of the added selection's matched candidates
  (:func:`analysis.michel.energy.response`), uncalibrated and calibrated;
- the figures of :mod:`analysis.michel.spectrum` (added selection) and
  ``michel_energy_response``.

``--truth`` uses the true labels as the prediction (the ceiling of the procedure itself).
``--calibration FILE`` applies an energy calibration fitted by ``python -m analysis
michel-calibration``; the uncalibrated sum is always kept as ``e_reco_raw``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from analysis.cli import add_data_option
from analysis.michel import spectrum
from analysis.michel.calibration import read_calibration
from analysis.michel.energy_outputs import energy_summary, plot_response
from analysis.michel.metrics import michel_metrics
from analysis.michel.outputs import write_metrics, write_parquet, write_root
from analysis.michel.run import run_michel
from analysis.michel.selection import ADDED, added_view
from lartpc_seg.cli import non_negative_int, positive_int
from lartpc_seg.errors import InputError


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--events``, ``--labels``, ``--threads`` and ``--chunk``: what a Michel run reads."""
    parser.add_argument("--events", type=Path, nargs="+", required=True, help="event files")
    parser.add_argument(
        "--labels", choices=("relabel", "label"), default="relabel", help="true labels to use"
    )
    parser.add_argument("--threads", type=positive_int, default=1, help="worker processes")
    parser.add_argument(
        "--chunk",
        type=positive_int,
        default=50,
        help="events per task (progress is counted by task)",
    )


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis michel``."""
    add_run_options(parser)
    parser.add_argument(
        "--predictions", type=Path, nargs="+", help="prediction files, one per event file"
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument(
        "--truth", action="store_true", help="use the true labels as the prediction (ceiling)"
    )
    parser.add_argument("--calibration", type=Path, help="JSON energy calibration to apply")
    parser.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=1000,
        metavar="N",
        help="bootstrap resamples of the events for the intervals of the means (0: none)",
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the bootstrap")
    add_data_option(parser)
    parser.add_argument("--variant", default="", help="variant name shown on the figures")


def run(args: argparse.Namespace) -> int:
    """Run the Michel analysis and write its outputs."""
    if not args.truth and not args.predictions:
        raise InputError(
            None, "give --predictions, or --truth to use the true labels", field="--predictions"
        )
    if args.bootstrap < 0:
        raise InputError(None, f"must be 0 or more, got {args.bootstrap}", field="--bootstrap")
    calibration = read_calibration(args.calibration) if args.calibration else None
    result = run_michel(
        args.events,
        None if args.truth else args.predictions,
        labels=args.labels,
        threads=args.threads,
        chunk=args.chunk,
    )
    candidates, true_clusters = result.candidates, result.true_clusters
    for raw, calibrated in (("e_reco_raw", "e_reco"), ("e_reco_raw_grown", "e_reco_grown")):
        energy = candidates[raw] if calibration is None else calibration(candidates[raw])
        candidates[calibrated] = np.asarray(energy, np.float32)
    added_cands, added_true = added_view(candidates, true_clusters)
    candidates["selected"] = added_cands["candidate"]
    true_clusters["matched_added"] = added_true["matched"]
    out = Path(args.out)
    metrics = michel_metrics(
        candidates, true_clusters, result.n_events, n_bootstrap=args.bootstrap, seed=args.seed
    )
    metrics["added"] = michel_metrics(
        added_cands, added_true, result.n_events, n_bootstrap=args.bootstrap, seed=args.seed
    )
    metrics["added"]["selection"] = {"definition": ADDED.describe(), **ADDED.as_dict()}
    metrics.update(
        {
            "events_files": [str(p) for p in args.events],
            "predictions_files": None if args.truth else [str(p) for p in args.predictions],
            "truth": bool(args.truth),
            "labels": args.labels,
            "calibration": None if calibration is None else str(args.calibration),
        }
    )
    write_metrics(out / "metrics.json", metrics)
    write_metrics(
        out / "energy.json",
        energy_summary(added_cands, args.variant, calibration is not None),
    )
    write_root(
        out / "michel.root",
        candidates,
        true_clusters,
        spectrum.histograms(added_cands, added_true),
    )
    write_parquet(out / "michel.parquet", candidates, true_clusters, result.event_numbers)
    spectrum.plot_all(
        added_cands,
        added_true,
        out,
        data=args.data,
        rlabel=args.variant or ("truth labels" if args.truth else None),
    )
    for fmt in ("pdf", "png"):
        plot_response(
            added_cands,
            out / f"michel_energy_response.{fmt}",
            data=args.data,
            rlabel=args.variant or ("truth labels" if args.truth else None),
        )
    n_cand, n_sel = int(candidates["candidate"].sum()), int(candidates["selected"].sum())
    n_matched = int((candidates["candidate"] & candidates["matched"]).sum())
    n_sel_matched = int((candidates["selected"] & candidates["matched"]).sum())
    print(
        f"wrote {out}: {result.n_events} events, {n_cand} candidates ({n_matched} matched), "
        f"added selection {n_sel} ({n_sel_matched} matched), "
        f"{len(true_clusters['matched'])} true Michel clusters"
    )
    return 0
