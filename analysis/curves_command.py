"""``python -m analysis curves``: the training curves of the variants on one figure.

Command line::

    python -m analysis curves --log regular=results/train/regular/log.csv \\
        --log relabeled=results/train/relabeled/log.csv --log weighted=... \\
        --out results/plots/training_curves.png

See :mod:`analysis.curves` for the log format.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.cli import add_data_option
from analysis.curves import plot_curves, read_log


def parse_log(text: str) -> tuple[str, Path]:
    """Parse ``VARIANT=PATH`` (or a bare ``PATH``: the variant is the parent folder's name)."""
    variant, sep, path = text.partition("=")
    if not sep:
        return Path(text).parent.name, Path(text)
    if not variant or not path:
        raise argparse.ArgumentTypeError(f"expected VARIANT=PATH, got '{text}'")
    return variant, Path(path)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``python -m analysis curves``."""
    parser.add_argument(
        "--log",
        action="append",
        type=parse_log,
        required=True,
        metavar="VARIANT=PATH",
        help="a variant's training log CSV (repeat per variant)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="IMAGE",
        help="output figure (format from the suffix: .png, .pdf)",
    )
    parser.add_argument(
        "--smooth",
        type=int,
        default=1,
        metavar="N",
        help="running mean of the train loss over N log rows (default: none)",
    )
    add_data_option(parser)


def run(args: argparse.Namespace) -> int:
    """Read the logs and draw the figure."""
    logs = [read_log(path, variant) for variant, path in args.log]
    plot_curves(logs, args.out, smooth=args.smooth, data=args.data)
    return 0
