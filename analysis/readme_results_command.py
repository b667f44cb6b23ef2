"""``python -m analysis readme-results``: write the README's results from a finished run.

The README holds generated blocks between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
markers; this command rewrites the ``results`` block from the run's tables and the ``backends``
block from the engine benchmark, so the figures quoted in the README are always the ones the
workflow produced.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from analysis.readme_results import (
    backends_markdown,
    replace_block,
    results_markdown,
    spectrum_figure,
)
from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of ``readme-results``."""
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument(
        "--benchmark",
        type=Path,
        default=None,
        help="engine benchmark JSON for the backends block "
        "(default: RESULTS/benchmark/engine.json, the workflow's quick run)",
    )
    parser.add_argument(
        "--figure",
        type=Path,
        default=None,
        metavar="PNG",
        help="also copy the relabeled network's Michel energy spectra (of the training seed "
        "the tables give) to PNG",
    )


def run(args: argparse.Namespace) -> int:
    """Rewrite the generated blocks of the README."""
    text = args.readme.read_text()
    text = replace_block(text, "results", results_markdown(args.results), path=args.readme)
    benchmark = args.benchmark or args.results / "benchmark" / "engine.json"
    if benchmark.exists():
        text = replace_block(text, "backends", backends_markdown(benchmark), path=args.readme)
    if args.figure is not None:
        source = spectrum_figure(args.results)
        if not source.exists():
            raise InputError(source, "missing: run the workflow first (make run)")
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(args.figure) as tmp:
            shutil.copyfile(source, tmp)
    with atomic_path(args.readme) as tmp:
        tmp.write_text(text)
    print(f"updated {args.readme} from {args.results}")
    return 0
