"""Per-class non-zero accuracy of the variants (docs/study.md §5), with bootstrap intervals.

Command line::

    python -m analysis accuracy --events data/test/0.root data/test/1.root \\
        --predictions regular=results/pred/regular/0.root,results/pred/regular/1.root \\
        --predictions relabeled=... --predictions weighted=... \\
        --column regular_regular=regular:label \\
        --column regular_relabeled=regular:relabel \\
        --column relabeled_relabeled=relabeled:relabel \\
        --column weighted_relabeled=weighted:relabel \\
        --out results/tables/accuracy --plots results/plots/accuracy --bootstrap 1000 --seed 0

A *column* scores one variant's predictions against one set of true labels (``label`` =
``vox_label``, ``relabel`` = ``vox_relabel``). The prediction files of a variant are aligned one
to one, in order, with the event files. Writes ``<out>.{csv,md,tex,json}`` and, with
``--plots``, one row-normalised confusion matrix per column (``confusion_<column>.png``).

Several training seeds: name each variant's predictions ``VARIANT@SEED=...`` (every variant
with the same seeds). The table's values are the first seed's, with the mean and spread over
seeds beside them (:mod:`analysis.seeds`); ``--gap STEM`` writes the Michel accuracy of
Reg→Reg and Rel→Rel and their difference per seed (:mod:`analysis.accuracy.seeds`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.accuracy.formatting import _cell, write_outputs
from analysis.accuracy.pairing import collect_per_event_counts
from analysis.accuracy.seeds import (
    GAP_COLUMNS,
    common_seeds,
    seed_gaps,
    seeded_columns,
    write_gap_table,
)
from analysis.accuracy.statistics import score_columns
from analysis.accuracy.types import STUDY_COLUMNS, TRUTHS, AccuracyColumn
from analysis.cli import add_data_option, add_table_stem_option, named_paths
from analysis.seeds import split_seed
from lartpc_seg.cli import non_negative_int, probability
from lartpc_seg.errors import InputError
from lartpc_seg.labels import Label


def parse_column(text: str) -> AccuracyColumn:
    """Parse ``KEY=VARIANT:TRUTH`` (TRUTH is ``label`` or ``relabel``)."""
    key, sep, rest = text.partition("=")
    variant, sep2, truth = rest.partition(":")
    if not (sep and sep2 and key and variant) or truth not in TRUTHS:
        raise argparse.ArgumentTypeError(
            f"expected KEY=VARIANT:TRUTH with TRUTH one of {', '.join(TRUTHS)}, got '{text}'"
        )
    return AccuracyColumn(key=key, variant=variant, truth=truth)


def add_prediction_options(parser: argparse.ArgumentParser) -> None:
    """``--predictions VARIANT=PATHS`` and ``--column KEY=VARIANT:TRUTH``, repeatable."""
    parser.add_argument(
        "--predictions",
        action="append",
        type=named_paths,
        required=True,
        metavar="VARIANT[@SEED]=PATH[,PATH...]",
        help="prediction files of a variant, one per event file, same order (repeat per variant "
        "and training seed; with several seeds name each VARIANT@SEED, the first seed given "
        "gives the table's values)",
    )
    parser.add_argument(
        "--column",
        action="append",
        type=parse_column,
        default=None,
        metavar="KEY=VARIANT:TRUTH",
        help="a table column: VARIANT's predictions scored against TRUTH "
        "(label = vox_label, relabel = vox_relabel); repeat per column. "
        "Default: the four columns of the study (regular_regular=regular:label, "
        "regular_relabeled=regular:relabel, relabeled_relabeled=relabeled:"
        "relabel, weighted_relabeled=weighted:relabel)",
    )


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``python -m analysis accuracy``."""
    parser.add_argument(
        "--events",
        nargs="+",
        type=Path,
        required=True,
        metavar="FILE",
        help="test event files, in order",
    )
    add_prediction_options(parser)
    add_table_stem_option(parser)
    parser.add_argument(
        "--plots",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for the confusion matrices (confusion_<column>.png)",
    )
    parser.add_argument(
        "--bootstrap",
        type=non_negative_int,
        default=1000,
        metavar="N",
        help="bootstrap resamples of the events for the intervals (0: none)",
    )
    parser.add_argument("--level", type=probability, default=0.95, help="coverage of the intervals")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the bootstrap")
    parser.add_argument(
        "--gap",
        type=Path,
        default=None,
        metavar="STEM",
        help="also write STEM.{csv,md,tex,html}: Michel accuracy of "
        f"{' and '.join(GAP_COLUMNS)} and their difference, per training seed",
    )
    add_data_option(parser)


def run(args: argparse.Namespace) -> int:
    """Score the columns, write the tables, the JSON and the confusion matrices."""
    if not 0.0 < args.level < 1.0:
        raise InputError(
            None, f"must lie strictly between 0 and 1, got {args.level}", field="--level"
        )
    if args.bootstrap < 0:
        raise InputError(None, f"must be 0 or more, got {args.bootstrap}", field="--bootstrap")
    predictions: dict[str, list[Path]] = {}
    seeds_of: dict[str, list[int | None]] = {}
    for name, files in args.predictions:
        if name in predictions:
            raise InputError(None, f"variant '{name}' given twice", field="--predictions")
        predictions[name] = files
        variant, training_seed = split_seed(name, "--predictions")
        seeds_of.setdefault(variant, []).append(training_seed)
    seeds = common_seeds(seeds_of)
    columns = args.column or [
        AccuracyColumn(key, variant, truth) for key, (variant, truth) in STUDY_COLUMNS.items()
    ]
    keys = [c.key for c in columns]
    if len(set(keys)) != len(keys):
        raise InputError(None, f"column keys must be unique, got {keys}", field="--column")
    if args.gap is not None and not set(GAP_COLUMNS) <= set(keys):
        raise InputError(None, f"needs the columns {', '.join(GAP_COLUMNS)}", field="--gap")
    scored = [c for s in seeds for c in seeded_columns(columns, s)]
    per_event = collect_per_event_counts(list(args.events), predictions, scored)
    by_seed = []
    for training_seed in seeds:
        results = score_columns(
            per_event,
            seeded_columns(columns, training_seed),
            n_bootstrap=args.bootstrap,
            seed=args.seed,
            level=args.level,
        )
        for result, column in zip(results, columns, strict=True):
            result.column = column
        by_seed.append(results)
    results = by_seed[0]
    write_outputs(
        results,
        args.out,
        args.plots,
        n_bootstrap=args.bootstrap,
        seed=args.seed,
        level=args.level,
        data=args.data,
        seeds=seeds if None not in seeds else None,
        by_seed=by_seed,
    )
    if args.gap is not None:
        gaps = seed_gaps(
            per_event, seeds, n_bootstrap=args.bootstrap, seed=args.seed, level=args.level
        )
        write_gap_table(gaps, args.gap, n_bootstrap=args.bootstrap, level=args.level)
    for r in results:
        cells = ", ".join(
            f"{cls.title} {_cell(r.accuracy[cls], r.lo[cls], r.hi[cls])}" for cls in Label
        )
        print(f"{r.column.title}: {cells}")
    return 0
