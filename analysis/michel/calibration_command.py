"""``python -m analysis michel-calibration``: fit the Michel energy calibration, write it as JSON.

Runs the Michel procedure on the given events (a part of the training split in the workflow)
with the network's predictions on them, or with the true labels as the prediction when no
``--predictions`` are given (the ``truth`` variant), keeps the added selection's matched
candidates (:data:`analysis.michel.selection.ADDED`, grown clusters) and fits
:func:`analysis.michel.calibration.fit_calibration` of their uncalibrated energy on the matched
Michel electron's own deposited energy. Nothing but these files enters the fit.

Example
-------
    python -m analysis michel-calibration --events data/train/0.root \\
        --predictions results/calibration/relabeled/0.root \\
        --out results/michel/relabeled/calibration.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.michel.calibration import MIN_ENTRIES, write_calibration
from analysis.michel.command import add_run_options
from analysis.michel.run import run_michel
from analysis.michel.selection import ADDED, added_view
from lartpc_seg.cli import positive_int
from lartpc_seg.errors import InputError


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis michel-calibration``."""
    add_run_options(parser)
    parser.add_argument(
        "--predictions",
        type=Path,
        nargs="+",
        help="prediction files, one per event file (default: the true labels)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="FILE.json", help="calibration file to write"
    )
    parser.add_argument(
        "--min-entries",
        type=positive_int,
        default=MIN_ENTRIES,
        help="fewest matched candidates a 5 MeV bin needs to give a point",
    )


def run(args: argparse.Namespace) -> int:
    """Fit the calibration on the selected, matched candidates and write it."""
    result = run_michel(
        args.events, args.predictions, labels=args.labels, threads=args.threads, chunk=args.chunk
    )
    cands, _ = added_view(result.candidates, result.true_clusters)
    fit = cands["candidate"] & cands["matched"]
    sources = [*args.events, *(args.predictions or [])]
    try:
        calibration = write_calibration(
            args.out,
            cands["e_reco_raw"][fit],
            cands["e_true_edep"][fit],
            sources,
            ADDED.describe(),
            args.min_entries,
        )
    except ValueError as err:
        raise InputError(args.events[0], f"cannot fit the calibration: {err}") from err
    pairs = zip(calibration.raw, calibration.dep, strict=True)
    points = ", ".join(f"{r:.1f}→{d:.1f}" for r, d in pairs)
    print(f"{args.out}: {int(fit.sum())} candidates, raw→deposited MeV {points}")
    return 0
