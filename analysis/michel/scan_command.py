"""``python -m analysis michel-scan``: purity and efficiency of candidate Michel selections.

Runs the Michel procedure on the given events and predictions and writes, for every selection
of :data:`analysis.michel.scan.SCAN`, the identification purity and efficiency and the mean
cluster efficiency (percent, no intervals) to ``OUT.csv``/``.md``. Use it on the validation
split (or training events) to choose thresholds; never on the test split.

Example
-------
    python -m analysis michel-scan --events data/val/0.root \\
        --predictions /tmp/val/relabeled/0.root --out /tmp/val/scan_relabeled
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.michel.command import add_run_options
from analysis.michel.reconstruct import MichelConfig
from analysis.michel.run import run_michel
from analysis.michel.scan import SCAN_COLUMNS, scan_rows
from analysis.tables import write_table


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis michel-scan``."""
    add_run_options(parser)
    parser.add_argument(
        "--predictions", type=Path, nargs="+", required=True, help="one per event file"
    )
    parser.add_argument("--out", type=Path, required=True, help="output path without suffix")
    parser.add_argument(
        "--grow-score",
        type=float,
        nargs="+",
        default=[MichelConfig().grow_score],
        help="growth thresholds to scan (MichelConfig.grow_score); one table each",
    )


def run(args: argparse.Namespace) -> int:
    """Write the scan table (one block per growth threshold) and print it."""
    rows = []
    for grow in args.grow_score:
        result = run_michel(
            args.events,
            args.predictions,
            labels=args.labels,
            threads=args.threads,
            chunk=args.chunk,
            config=MichelConfig(grow_score=grow),
        )
        rows += [
            {"grow_score": grow, **row}
            for row in scan_rows(result.candidates, result.true_clusters)
        ]
    caption = (
        f"Michel selections on {result.n_events} events, {len(result.true_clusters['entry'])} "
        "true Michel clusters: identification purity and efficiency and mean cluster "
        "efficiency of the grown clusters, percent."
    )
    write_table(rows, ["grow_score", *SCAN_COLUMNS], args.out, caption, formats=("csv", "md"))
    print(Path(f"{args.out}.md").read_text())
    return 0
