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
