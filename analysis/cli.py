"""Command line: ``python -m analysis <command> ...`` (same conventions as ``lartpc_seg``).

Also the argument types and options that several analysis commands share.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lartpc_seg.cli import dispatch

#: command → (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "accuracy": ("analysis.accuracy.command", "per-class accuracy table and confusion matrices"),
    "accuracy-by-energy": (
        "analysis.accuracy.by_energy_command",
        "delta-ray or Michel accuracy by the true energy of the electron",
    ),
    "curves": ("analysis.curves_command", "training curves of the variants on one figure"),
    "michel": ("analysis.michel.command", "Michel electron candidates, matching and energies"),
    "michel-calibration": (
        "analysis.michel.calibration_command",
        "fit the Michel energy calibration on training-split candidates",
    ),
    "michel-energy-table": (
        "analysis.michel.energy_table_command",
        "Michel energy response table (reco / deposited per 5 MeV bin) of all variants",
    ),
    "michel-scan": (
        "analysis.michel.scan_command",
        "purity and efficiency of candidate Michel selections (for choosing thresholds)",
    ),
    "michel-table": (
        "analysis.michel.table_command",
        "Michel purity/efficiency table of all variants",
    ),
    "michel-benchmark": (
        "analysis.michel.benchmark_command",
        "Michel reconstruction events per second per core",
    ),
    "dataset-summary": (
        "analysis.dataset_summary_command",
        "class fractions and relabeled fraction",
    ),
    "readme-results": ("analysis.readme_results_command", "write the README results section"),
}

#: The data kinds of the figures' experiment label.
DATA_KINDS = ("Simulation", "Open data")


def named_paths(text: str) -> tuple[str, list[Path]]:
    """Parse ``NAME=PATH[,PATH...]`` (a variant's prediction files, a split's event files)."""
    name, sep, paths = text.partition("=")
    files = [Path(p) for p in paths.split(",") if p]
    if not (sep and name and files):
        raise argparse.ArgumentTypeError(f"expected NAME=PATH[,PATH...], got '{text}'")
    return name, files


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """``--data``: whether the figures say "Simulation" or "Open data" in their label."""
    parser.add_argument(
        "--data",
        choices=DATA_KINDS,
        default=DATA_KINDS[0],
        help="data kind in the figures' experiment label",
    )


def add_table_stem_option(parser: argparse.ArgumentParser) -> None:
    """``--out STEM``: a table command writes ``STEM.csv``, ``.md``, ``.tex`` and ``.json``."""
    parser.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="STEM",
        help="output stem: writes STEM.csv, .md, .tex and .json",
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m analysis``."""
    return dispatch(COMMANDS, "python -m analysis", sys.argv[1:] if argv is None else argv)
