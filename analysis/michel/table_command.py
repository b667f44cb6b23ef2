"""``python -m analysis michel-table``: the Michel purity/efficiency table of all variants.

Example
-------
    python -m analysis michel-table \\
        --metrics regular@20190314=results/michel/regular/seed-20190314/metrics.json \\
        regular@20190315=results/michel/regular/seed-20190315/metrics.json \\
        truth=results/michel/truth/metrics.json --out results/tables/michel

One row per variant. With several training seeds (``VARIANT@SEED``, the first given gives the
row's values) each metric gets its mean and spread over seeds beside it
(:func:`analysis.michel.table.combine_seeds`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from analysis.michel.table import (
    CAPTION,
    COMPACT_COLUMNS,
    HEADERS,
    columns,
    combine_seeds,
    compact_row,
    row_from_metrics,
    row_identity,
    seeded_columns,
    spread_row,
    worded,
)
from analysis.reference import PAPER_ROW
from analysis.seeds import split_seed, spread_sentence
from analysis.tables import write_table
from lartpc_seg.errors import InputError


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m analysis michel-table``."""
    parser.add_argument(
        "--metrics",
        nargs="+",
        required=True,
        metavar="VARIANT[@SEED]=metrics.json",
        help="one per variant and training seed (VARIANT@SEED, the first seed of a variant "
        "gives its row's values); name the --truth run 'truth'",
    )
    parser.add_argument("--out", type=Path, required=True, help="output path without suffix")


def run(args: argparse.Namespace) -> int:
    """Write the table."""
    # table row (variant and any other label) → its (training seed, row) of each seed
    runs: dict[tuple, list[tuple[int | None, dict[str, object]]]] = {}
    given: set[str] = set()
    for item in args.metrics:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise InputError(None, f"expected VARIANT=PATH, got {item!r}", field="--metrics")
        if name in given:
            raise InputError(None, f"{name!r} given twice", field="--metrics")
        given.add(name)
        variant, seed = split_seed(name, "--metrics")
        try:
            metrics = json.loads(Path(path).read_text())
        except (OSError, ValueError) as err:
            raise InputError(path, f"cannot read metrics: {err}") from err
        file_rows = [row_from_metrics(variant, metrics, Path(path))]
        for row in file_rows:
            runs.setdefault(row_identity(row), []).append((seed, row))
    n_seeds = max(len(r) for r in runs.values())
    if n_seeds == 1:
        rows = [r[0][1] for r in runs.values()]
        rows.sort(key=lambda r: r["variant"] == "truth")
        write_table(rows, columns(), args.out, CAPTION, formats=("csv",))
        shown = [worded(compact_row(r)) for r in rows] + [worded(PAPER_ROW)]
        headers = [HEADERS[c] for c in COMPACT_COLUMNS]
        write_table(shown, headers, args.out, CAPTION, formats=("md", "tex", "html"))
        return 0
    seeds = next([s for s, _ in r] for r in runs.values() if len(r) == n_seeds)
    if None in seeds:
        raise InputError(None, "with several seeds name each run VARIANT@SEED", field="--metrics")
    caption = f"{CAPTION} {spread_sentence(seeds)}; truth is not trained: one run."
    rows = [combine_seeds(r) for r in runs.values()]
    rows.sort(key=lambda r: r["variant"] == "truth")
    write_table(rows, seeded_columns(), args.out, caption, formats=("csv",))
    shown = [spread_row(r, n_seeds) for r in rows]
    headers = list(shown[0])
    shown.append(worded(PAPER_ROW))
    write_table(shown, headers, args.out, caption, formats=("md", "tex", "html"))
    return 0
