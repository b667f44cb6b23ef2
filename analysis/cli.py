"""Command line: ``python -m analysis <command> ...`` (same conventions as ``lartpc_seg``)."""

from __future__ import annotations

import sys

from lartpc_seg.cli import dispatch

#: command → (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "accuracy": ("analysis.accuracy", "per-class accuracy table and confusion matrices"),
    "accuracy-by-energy": (
        "analysis.energy_accuracy",
        "delta-ray or Michel accuracy by the true energy of the electron",
    ),
    "curves": ("analysis.curves", "training curves of the variants on one figure"),
    "michel": ("analysis.michel_command", "Michel electron candidates, matching and energies"),
    "michel-table": ("analysis.michel_table", "Michel purity/efficiency table of all variants"),
    "dataset-summary": ("analysis.dataset_summary", "class fractions and relabeled fraction"),
    "readme-results": ("analysis.readme_results", "write the README results section"),
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m analysis``."""
    return dispatch(COMMANDS, "python -m analysis", sys.argv[1:] if argv is None else argv)
