"""``python -m lartpc_seg display FILE.root --event K --out event.png``: one event's display."""

from __future__ import annotations

import argparse
from pathlib import Path

from lartpc_seg.cli import positive_int
from lartpc_seg.display import display


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``display``."""
    parser.add_argument("file", type=Path, metavar="FILE.root", help="event file")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--event", type=int, metavar="K", help="entry index (0-based)")
    which.add_argument("--number", type=int, metavar="N", help="event number (event branch)")
    parser.add_argument("--out", required=True, type=Path, metavar="PNG", help="image to write")
    parser.add_argument("--grid-lines", action="store_true", help="draw grid lines and panes")
    parser.add_argument(
        "--dpi", type=positive_int, default=100, help="pixels per inch (default 100)"
    )


def run(args: argparse.Namespace) -> int:
    """Draw the event and print where the image went."""
    out = display(
        args.file,
        args.out,
        entry=args.event,
        number=args.number,
        grid_lines=args.grid_lines,
        dpi=args.dpi,
    )
    print(out)
    return 0
