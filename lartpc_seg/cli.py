"""Command line: ``python -m lartpc_seg <command> ...``.

Each command lives in its own module, which provides ``configure_parser(parser)`` and
``run(args) -> int``. Modules are imported only when their command runs, so ``--help`` is fast
and a command does not pay for the imports of another.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import math
import sys
from typing import NoReturn

from lartpc_seg.errors import InputError
from lartpc_seg.io.paths import check_command_paths, clear_inputs

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


#: Failures of the system a user can act on: reported as one line, not as a traceback.
FORESEEABLE_OS_ERRORS = {
    errno.ENOENT: "no such file or directory; check the path",
    errno.ENOTDIR: "a part of the path is a file, not a directory; check the path",
    errno.EISDIR: "is a directory; give the path of a file",
    errno.EACCES: "permission denied; choose a place you can read and write",
    errno.EPERM: "operation not permitted; choose a place you can read and write",
    errno.EROFS: "read-only file system; choose a writable output place",
    errno.ENOSPC: "no space left on the device; free space or choose another output place",
    errno.EDQUOT: "disk quota exceeded; free space or choose another output place",
    errno.EFBIG: "file too large (file-system limit or `ulimit -f`)",
    errno.ENAMETOOLONG: "file name too long",
}


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``error: ...`` line (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


# Checked argparse types: a bad option value is refused at parse time as one line naming the
# option (argparse prints an ArgumentTypeError as ``error: argument --batch-size: <message>``).


def _number(text: str, kind: type, what: str) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'")
    return value


def positive_int(text: str) -> int:
    """An integer of at least 1 (counts, sizes, threads)."""
    value = _number(text, int, "an integer >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer of at least 0 (seeds, event numbers, optional counts)."""
    value = _number(text, int, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    """A finite number greater than 0 (exponents, scales)."""
    value = _number(text, float, "a number > 0")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {value:g}")
    return value


def probability(text: str) -> float:
    """A number strictly between 0 and 1 (confidence levels)."""
    value = _number(text, float, "a number between 0 and 1")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {value:g}")
    return value


def os_error_line(err: OSError) -> str:
    """One line for a foreseeable :class:`OSError`: the file, what happened, what to do."""
    what = FORESEEABLE_OS_ERRORS[err.errno]
    where = err.filename if err.filename is not None else "a file"
    return f"{where}: {what}"


def dispatch(commands: dict[str, tuple[str, str]], prog: str, argv: list[str]) -> int:
    """Parse ``argv`` against ``commands`` and run the chosen one.

    Before the command runs, the files named on the command line become its inputs, which it
    may not write over, and its output options are checked
    (:func:`lartpc_seg.io.paths.check_command_paths`). An
    :class:`~lartpc_seg.errors.InputError` or a foreseeable :class:`OSError` (a missing file, a
    full disk, a read-only directory) is printed as one line and exits 1; any other exception
    is a bug and keeps its traceback. A bad option value exits 2 with one line.
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
    parser = OneLineParser(prog=f"{prog} {name}", description=commands[name][1])
    module.configure_parser(parser)
    args = parser.parse_args(argv[1:])
    try:
        check_command_paths(vars(args))
        return int(module.run(args) or 0)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        if err.errno not in FORESEEABLE_OS_ERRORS:
            raise
        print(f"error: {os_error_line(err)}", file=sys.stderr)
        return 1
    finally:
        clear_inputs()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m lartpc_seg``."""
    return dispatch(COMMANDS, "python -m lartpc_seg", sys.argv[1:] if argv is None else argv)
