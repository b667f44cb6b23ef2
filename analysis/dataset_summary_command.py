"""``python -m analysis dataset-summary``: events, voxels and class fractions of the splits.

Command line::

    python -m analysis dataset-summary --events data/train/*.root data/test/*.root \\
        --out results/tables/dataset --plots results/plots/dataset

or with explicit splits, ``--split train=a.root,b.root --split test=c.root``. Without
``--split`` the split of a file is the name of its parent folder. Writes
``<out>.{csv,md,tex,json}`` and, with ``--plots``, ``class_fractions.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from analysis.cli import add_data_option, add_table_stem_option, named_paths
from analysis.dataset_summary import (
    _mean,
    csv_rows,
    display_rows,
    plot_class_fractions,
    summarise_split,
    summary_json,
)
from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.labels import Label


def split_files(events: list[Path], splits: list[tuple[str, list[Path]]]) -> dict[str, list[Path]]:
    """Group files by split: explicit ``--split`` groups, then ``--events`` by parent folder."""
    groups: dict[str, list[Path]] = {}
    for name, files in splits:
        groups.setdefault(name, []).extend(files)
    for path in events:
        groups.setdefault(path.parent.name or ".", []).append(path)
    if not groups:
        raise InputError(None, "no event files: give --events or --split", field="--events")
    return groups


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``python -m analysis dataset-summary``."""
    parser.add_argument(
        "--events",
        nargs="+",
        type=Path,
        default=[],
        metavar="FILE",
        help="event files; each one's split is its parent folder's name",
    )
    parser.add_argument(
        "--split",
        action="append",
        type=named_paths,
        default=[],
        metavar="NAME=PATH[,PATH...]",
        help="event files of a named split",
    )
    add_table_stem_option(parser)
    parser.add_argument(
        "--plots", type=Path, default=None, metavar="DIR", help="folder for class_fractions.png"
    )
    add_data_option(parser)


def run(args: argparse.Namespace) -> int:
    """Summarise every split and write the tables, the JSON and the bar chart."""
    from analysis.tables import write_table

    groups = split_files(list(args.events), list(args.split))
    summaries = [summarise_split(name, files) for name, files in groups.items()]
    caption = (
        "Data sets: events, voxels per event, class fractions of the voxels with the original "
        "and the relabeled labels, and the share of original Michel / delta voxels that "
        "relabeling made shower."
    )
    rows, columns = csv_rows(summaries)
    write_table(rows, columns, args.out, caption, formats=("csv",))
    rows, columns = display_rows(summaries)
    write_table(rows, columns, args.out, caption, formats=("md", "tex"))
    with atomic_path(args.out.parent / f"{args.out.name}.json") as tmp:
        tmp.write_text(json.dumps(summary_json(summaries), indent=2, allow_nan=False) + "\n")
    if args.plots is not None:
        plot_class_fractions(summaries, args.plots / "class_fractions.png", data=args.data)
    for s in summaries:
        print(
            f"{s.name}: {s.n_events} events, {_mean(s.voxels_per_event):.1f} voxels/event, "
            f"Michel → shower {100 * s.relabeled_fraction(Label.MICHEL):.1f} %, "
            f"delta → shower {100 * s.relabeled_fraction(Label.DELTA):.1f} %"
        )
    return 0
