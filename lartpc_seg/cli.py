"""Command line: ``python -m lartpc_seg <command> ...``.

Each command lives in its own module, which provides ``configure_parser(parser)`` and
``run(args) -> int``. Modules are imported only when their command runs, so ``--help`` is fast
and a command does not pay for the imports of another.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from lartpc_seg.errors import InputError

#: command → (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("lartpc_seg.simulation.command", "simulate events into an event file"),
    "validate": ("lartpc_seg.io.validate_command", "check event files against the contract"),
    "import-larcv": ("lartpc_seg.io.larcv.command", "convert LArCV2 ROOT files to event files"),
    "import-pilarnet": (
        "lartpc_seg.io.pilarnet.command",
        "convert a PILArNet-M HDF5 file to event files",
    ),
    "download": (
        "lartpc_seg.io.download_command",
        "download an open-data file, resumable, checksummed",
    ),
    "display": ("lartpc_seg.display_command", "draw a 3D event display coloured by class"),
    "train": ("lartpc_seg.train.command", "train the U-ResNet"),
    "infer": ("lartpc_seg.infer.command", "write the predictions of a trained model"),
    "benchmark": ("lartpc_seg.benchmark.command", "measure speed and memory"),
}


def dispatch(commands: dict[str, tuple[str, str]], prog: str, argv: list[str]) -> int:
    """Parse ``argv`` against ``commands`` and run the chosen one.

    An :class:`~lartpc_seg.errors.InputError` is printed as one line and exits 1; any other
    exception is a bug and keeps its traceback.
    """
    top = argparse.ArgumentParser(prog=prog)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text) in commands.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] not in commands:
        top.parse_args(argv)
        return 2
    name = argv[0]
    module = importlib.import_module(commands[name][0])
    parser = argparse.ArgumentParser(prog=f"{prog} {name}", description=commands[name][1])
    module.configure_parser(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m lartpc_seg``."""
    return dispatch(COMMANDS, "python -m lartpc_seg", sys.argv[1:] if argv is None else argv)
