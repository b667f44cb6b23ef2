"""A command never writes over its own inputs, nor starts work it cannot write out.

The command line (:func:`lartpc_seg.cli.dispatch`) registers every existing file named on the
command line as an input of the running command and checks its output options before the command
starts; :func:`lartpc_seg.io.atomic.atomic_path` then refuses to replace a registered input
whatever the spelling of the path (``./x``, absolute, a symlink or a hard link: files are
compared by device and inode).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from lartpc_seg.errors import InputError

#: (device, inode) → the input as the user named it.
_INPUTS: dict[tuple[int, int], Path] = {}

#: Option destinations that name what a command writes (a file, a stem or a directory).
OUTPUT_OPTIONS = ("out", "plots", "workdir", "figure")
#: Options a command reads and rewrites in place on purpose.
IN_PLACE_OPTIONS = ("readme",)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def named_files(value: object) -> Iterator[Path]:
    """Existing regular files named by an option's value.

    Strings and paths, lists and tuples of them, and ``NAME=PATH[,PATH...]`` strings.
    """
    if isinstance(value, (list, tuple)):
        for item in value:
            yield from named_files(item)
    elif isinstance(value, (str, Path)):
        text = str(value)
        candidates = [text]
        if isinstance(value, str) and "=" in text:
            candidates += text.partition("=")[2].split(",")
        for candidate in candidates:
            path = Path(candidate)
            try:
                if candidate and path.is_file():
                    yield path
            except (OSError, ValueError):
                continue


def register_inputs(paths: Iterable[Path]) -> None:
    """Make ``paths`` inputs of the running command (replaces any earlier registration)."""
    _INPUTS.clear()
    for path in paths:
        identity = _identity(path)
        if identity is not None:
            _INPUTS.setdefault(identity, path)


def clear_inputs() -> None:
    """Forget the registered inputs (the command has ended)."""
    _INPUTS.clear()


def refuse_input(path: str | Path, option: str | None = None) -> None:
    """Raise :class:`InputError` if ``path`` is the same file as a registered input."""
    path = Path(path)
    identity = _identity(path)
    if identity is None or identity not in _INPUTS:
        return
    raise InputError(
        path,
        f"is the input {_INPUTS[identity]} (same file); refusing to write over it: "
        f"give {option or 'the output'} another path",
    )


def check_writable(path: str | Path, option: str) -> None:
    """Raise :class:`InputError` unless ``path`` (file or directory) can be created or written.

    The nearest existing directory on the way to ``path`` must be writable and searchable, so a
    read-only or foreign output directory is refused before the work starts, not after it.
    """
    path = Path(path)
    probe = path if path.is_dir() else path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise InputError(path, f"cannot be written: {probe} is a file, not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(
            path,
            f"cannot be written: directory {probe} is read-only or not yours; "
            f"give {option} a writable place",
        )


def check_command_paths(options: dict[str, object]) -> None:
    """Register a command's inputs and check its outputs before it runs.

    Parameters
    ----------
    options : dict
        The parsed options (``vars(args)``). Every existing file named by an option other than
        an output (:data:`OUTPUT_OPTIONS`) or an in-place option is an input.

    Raises
    ------
    InputError
        When an output option names an input, or a place that cannot be written.
    """
    inputs = [
        path
        for dest, value in options.items()
        if dest not in OUTPUT_OPTIONS and dest not in IN_PLACE_OPTIONS
        for path in named_files(value)
    ]
    register_inputs(inputs)
    for dest in OUTPUT_OPTIONS:
        value = options.get(dest)
        if value is None or value == []:
            continue
        option = "--" + dest.replace("_", "-")
        for item in value if isinstance(value, list) else [value]:
            refuse_input(item, option)
            check_writable(item, option)
