"""``python -m analysis michel-calibration``: fit the Michel energy scale and write it as JSON.

Runs the Michel procedure with the true labels as the prediction on the given events (the
training split in the workflow) and fits the scale factor of
:func:`analysis.michel.calibration.fit_calibration` on the matched candidates.

Example
-------
    python -m analysis michel-calibration --events data/train/*.root \\
        --out results/michel/calibration.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.michel.calibration import write_calibration
from analysis.michel.command import add_run_options
from analysis.michel.run import run_michel
from lartpc_seg.errors import InputError


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis michel-calibration``."""
    add_run_options(parser)
    parser.add_argument(
        "--out", type=Path, required=True, metavar="FILE.json", help="calibration file to write"
    )


def run(args: argparse.Namespace) -> int:
    """Fit the scale on true-label candidates and write it."""
    result = run_michel(
        args.events, None, labels=args.labels, threads=args.threads, chunk=args.chunk
    )
    try:
        factor = write_calibration(args.out, result.candidates, args.events)
    except ValueError as err:
        raise InputError(args.events[0], f"cannot fit the calibration: {err}") from err
    print(f"{args.out}: factor {factor:.4f}")
    return 0
