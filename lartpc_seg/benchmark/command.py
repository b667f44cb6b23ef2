"""``python -m lartpc_seg benchmark <what>``: each benchmark is a module with the CLI protocol."""

from __future__ import annotations

import argparse
import importlib

from lartpc_seg.cli import OneLineParser
from lartpc_seg.io.paths import check_command_paths

#: benchmark → (module, one-line help)
BENCHMARKS: dict[str, tuple[str, str]] = {
    "simulate": ("lartpc_seg.benchmark.simulate", "simulated events per second per core"),
    "engine": ("lartpc_seg.benchmark.engine", "sparse engine vs MinkowskiEngine vs dense"),
    "distributed": ("lartpc_seg.benchmark.distributed", "training throughput vs workers"),
    "pilarnet": ("lartpc_seg.benchmark.pilarnet", "PILArNet-M import: peak memory and rate"),
    "clustering": ("lartpc_seg.benchmark.clustering", "the project's DBSCAN vs scikit-learn's"),
}


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Take the benchmark's name; its own options are parsed by its module (imported lazily)."""
    parser.add_argument("benchmark", choices=list(BENCHMARKS))
    parser.add_argument("options", nargs=argparse.REMAINDER, help="the benchmark's own options")


def run(args: argparse.Namespace) -> int:
    """Parse the chosen benchmark's options and run it."""
    module_name, help_text = BENCHMARKS[args.benchmark]
    module = importlib.import_module(module_name)
    parser = OneLineParser(
        prog=f"python -m lartpc_seg benchmark {args.benchmark}", description=help_text
    )
    module.configure_parser(parser)
    options = parser.parse_args(args.options)
    check_command_paths(vars(options))  # its own inputs and outputs, not the raw words
    return module.run(options)
