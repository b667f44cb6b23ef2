"""``python -m analysis michel-table``: the Michel purity/efficiency table of all variants.

Example
-------
    python -m analysis michel-table --metrics regular=results/michel/regular/metrics.json \\
        truth=results/michel/truth/metrics.json --out results/tables/michel
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from analysis.michel.table import (
    CAPTION,
    COMPACT_COLUMNS,
    HEADERS,
    columns,
    compact_row,
    row_from_metrics,
    worded,
)
from analysis.reference import PAPER_ROW
from analysis.tables import write_table
from lartpc_seg.errors import InputError


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis michel-table``."""
    parser.add_argument(
        "--metrics",
        nargs="+",
        required=True,
        metavar="VARIANT=metrics.json",
        help="one per variant; name the --truth run 'truth'",
    )
    parser.add_argument("--out", type=Path, required=True, help="output path without suffix")


def run(args: argparse.Namespace) -> int:
    """Write the table."""
    rows = []
    for item in args.metrics:
        variant, sep, path = item.partition("=")
        if not sep or not variant or not path:
            raise InputError(None, f"expected VARIANT=PATH, got {item!r}", field="--metrics")
        try:
            metrics = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise InputError(path, f"cannot read metrics: {err}") from err
        rows.append(row_from_metrics(variant, metrics, Path(path)))
        if "added" in metrics:
            rows.append(row_from_metrics(variant, metrics["added"], Path(path), "added"))
    rows.sort(key=lambda r: r["variant"] == "truth")
    write_table(rows, columns(), args.out, CAPTION, formats=("csv",))
    shown = [worded(compact_row(r)) for r in rows] + [worded(PAPER_ROW)]
    headers = [HEADERS[c] for c in COMPACT_COLUMNS]
    write_table(shown, headers, args.out, CAPTION, formats=("md", "tex", "html"))
    return 0
