"""Argument types shared by the analysis commands."""

from __future__ import annotations

import argparse
from pathlib import Path


def named_paths(text: str) -> tuple[str, list[Path]]:
    """Parse ``NAME=PATH[,PATH...]`` (a variant's prediction files, a split's event files)."""
    name, sep, paths = text.partition("=")
    files = [Path(p) for p in paths.split(",") if p]
    if not (sep and name and files):
        raise argparse.ArgumentTypeError(f"expected NAME=PATH[,PATH...], got '{text}'")
    return name, files


#: The data kinds of the figures' experiment label.
DATA_KINDS = ("Simulation", "Open data")


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """``--data``: whether the figures say "Simulation" or "Open data" in their label."""
    parser.add_argument(
        "--data",
        choices=DATA_KINDS,
        default=DATA_KINDS[0],
        help="data kind in the figures' experiment label",
    )
