"""``python -m analysis curves``: the training curves of the variants on one figure.

Command line::

    python -m analysis curves --log regular@7=results/train/regular/seed-7/log.csv \\
        --log relabeled@7=results/train/relabeled/seed-7/log.csv --log weighted@7=... \\
        --out results/plots/training_curves.png

One colour per variant; with several training seeds (``VARIANT@SEED``), one line style per
seed.

See :mod:`analysis.curves` for the log format.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.cli import add_data_option
from analysis.curves import plot_curves, read_log


def parse_log(text: str) -> tuple[str, int | None, Path]:
    """Parse ``VARIANT[@SEED]=PATH``, or a bare ``PATH``: the variant is the parent folder's
    name, or with a ``seed-SEED`` parent (``results/train/VARIANT/seed-SEED/log.csv``) the
    grandparent's, and the seed is SEED."""
    name, sep, path = text.partition("=")
    if not sep:
        parent = Path(text).parent
        seed = parent.name.removeprefix("seed-")
        if parent.name.startswith("seed-") and seed.isdigit():
            return parent.parent.name, int(seed), Path(text)
        return parent.name, None, Path(text)
    variant, at, seed = name.partition("@")
    if not variant or not path or (at and not seed.isdigit()):
        raise argparse.ArgumentTypeError(f"expected VARIANT[@SEED]=PATH, got '{text}'")
    return variant, int(seed) if at else None, Path(path)


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``python -m analysis curves``."""
    parser.add_argument(
        "--log",
        action="append",
        type=parse_log,
        required=True,
        metavar="VARIANT[@SEED]=PATH",
        help="a variant's training log CSV (repeat per variant and training seed)",
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
    logs = [read_log(path, variant, seed) for variant, seed, path in args.log]
    plot_curves(logs, args.out, smooth=args.smooth, data=args.data)
    return 0
