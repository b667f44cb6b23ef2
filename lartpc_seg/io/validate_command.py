"""``python -m lartpc_seg validate FILE.root...``: check event files against the contract."""

from __future__ import annotations

import argparse
from pathlib import Path

from lartpc_seg.cli import positive_int
from lartpc_seg.io.events import EventFile, file_problems


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``validate``."""
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE.root", help="event files")
    parser.add_argument(
        "--step", type=positive_int, default=500, help="events read at a time (memory bound)"
    )


def run(args: argparse.Namespace) -> int:
    """Print every problem, one per line, or ``FILE: OK (N events)``; 1 if any problem."""
    status = 0
    for path in args.files:
        problems = file_problems(path, step=args.step)
        if problems:
            status = 1
            for problem in problems:
                print(problem)
            continue
        with EventFile(path) as file:
            n = len(file)
        print(f"{path}: OK ({n} events)")
    return status
