"""``python -m analysis michel-energy-table``: the Michel energy response table of all variants.

Reads the ``energy.json`` of each ``python -m analysis michel`` run and writes
``OUT.csv``/``.md``/``.tex``/``.html``: one row per variant, energy scale (raw or calibrated)
and 5 MeV bin of deposited energy (:mod:`analysis.michel.energy`).

Example
-------
    python -m analysis michel-energy-table \\
        --energy relabeled=results/michel/relabeled/energy.json --out results/tables/michel_energy
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from analysis.michel.energy import RESPONSE_COLUMNS
from analysis.michel.energy_outputs import CAPTION, energy_rows
from analysis.tables import write_table
from lartpc_seg.errors import InputError


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis michel-energy-table``."""
    parser.add_argument(
        "--energy",
        nargs="+",
        required=True,
        metavar="VARIANT=energy.json",
        help="one per variant",
    )
    parser.add_argument("--out", type=Path, required=True, help="output path without suffix")


def run(args: argparse.Namespace) -> int:
    """Write the table."""
    rows = []
    for item in args.energy:
        variant, sep, path = item.partition("=")
        if not sep or not variant or not path:
            raise InputError(None, f"expected VARIANT=PATH, got {item!r}", field="--energy")
        try:
            summary = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise InputError(path, f"cannot read the energy response: {err}") from err
        rows += energy_rows(variant, summary, Path(path))
    columns = ["variant", "scale", *RESPONSE_COLUMNS]
    write_table(rows, columns, args.out, CAPTION, formats=("csv", "md", "tex", "html"), digits=3)
    return 0
