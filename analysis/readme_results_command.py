"""``python -m analysis readme-results``: write the README's results from a finished run.

The README holds generated blocks between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
markers; this command rewrites the ``results`` block from the run's tables and the ``backends``
block from the engine benchmark, so the figures quoted in the README are always the ones the
workflow produced.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.readme_results import backends_markdown, replace_block, results_markdown
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


def run(args: argparse.Namespace) -> int:
    """Rewrite the generated blocks of the README."""
    text = args.readme.read_text()
    text = replace_block(text, "results", results_markdown(args.results), path=args.readme)
    benchmark = args.benchmark or args.results / "benchmark" / "engine.json"
    if benchmark.exists():
        text = replace_block(text, "backends", backends_markdown(benchmark), path=args.readme)
    with atomic_path(args.readme) as tmp:
        tmp.write_text(text)
    print(f"updated {args.readme} from {args.results}")
    return 0
