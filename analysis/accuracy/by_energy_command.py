"""``python -m analysis accuracy-by-energy``: a class's accuracy by its electron's true energy.

Command line::

    python -m analysis accuracy-by-energy --class delta \\
        --events data/test/0.root data/test/1.root \\
        --predictions relabeled=results/predictions/relabeled/0.root,... \\
        --column relabeled_relabeled=relabeled:relabel \\
        --bins 1 2 3 5 10 30 100 --out results/tables/accuracy_by_energy_delta

See :mod:`analysis.accuracy.by_energy` for the binning.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from analysis.accuracy.by_energy import (
    CLASSES,
    DEFAULT_BINS_MEV,
    _mev,
    _percent,
    count_by_energy,
    write_outputs,
)
from analysis.accuracy.command import add_prediction_options
from analysis.accuracy.types import STUDY_COLUMNS, AccuracyColumn
from lartpc_seg.errors import InputError


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``python -m analysis accuracy-by-energy``."""
    parser.add_argument(
        "--class", dest="cls", choices=list(CLASSES), required=True, help="class to bin"
    )
    parser.add_argument("--events", nargs="+", type=Path, required=True, metavar="FILE")
    add_prediction_options(parser)
    parser.add_argument(
        "--bins",
        nargs="+",
        type=float,
        default=None,
        metavar="MEV",
        help="increasing bin edges, MeV (default: "
        + "; ".join(f"{k} {' '.join(map(_mev, v))}" for k, v in DEFAULT_BINS_MEV.items())
        + ")",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="STEM")


def run(args: argparse.Namespace) -> int:
    """Bin, count and write the table."""
    edges = np.asarray(args.bins if args.bins else DEFAULT_BINS_MEV[args.cls], float)
    if len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise InputError(
            None, f"need at least two increasing edges, got {edges.tolist()}", field="--bins"
        )
    predictions = dict(args.predictions)
    columns = args.column or [
        AccuracyColumn(key, variant, truth) for key, (variant, truth) in STUDY_COLUMNS.items()
    ]
    results = count_by_energy(list(args.events), predictions, columns, CLASSES[args.cls], edges)
    write_outputs(results, args.cls, args.out)
    for r in results:
        cells = ", ".join(
            f"{name} {_percent(int(right), int(total)):.1f}"
            for name, right, total in zip(r.row_names(), r.right, r.total, strict=True)
            if total
        )
        print(f"{r.column.title}: {cells}")
    return 0
