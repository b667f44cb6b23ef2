"""Atomic output: write to a temporary name in the same directory, rename when complete.

The temporary name carries the writer's process id and host (``.NAME.PID@HOST.XXXXXXXX.tmpSUFFIX``)
so that the next writer of ``NAME`` can tell a temporary of a killed process (removed) from one
that a live process is still writing (kept).
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lartpc_seg.errors import InputError
from lartpc_seg.io.paths import refuse_input

#: Write errors that say the disk, not the program, failed: reported as one line naming the file.
DISK_FULL = {
    errno.ENOSPC: "no space left on the device; free space or write elsewhere",
    errno.EDQUOT: "disk quota exceeded; free space or write elsewhere",
    errno.EFBIG: "file too large for the file system or `ulimit -f`; raise it or write elsewhere",
}


def _umask() -> int:
    """The process's umask, read without changing it where /proc allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _tag() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds.

    The temporary file keeps ``path``'s suffix so that libraries choosing a format by extension
    still do the right thing. On any exception the temporary file is removed and ``path`` is left
    as it was, so a downstream rule never takes a partial file for a finished one. The file gets
    the mode an ordinary ``open`` would give it (``0o666`` less the umask), not ``mkstemp``'s
    owner-only ``0o600``.

    Parameters
    ----------
    path : str or Path
        The final output path. Its directory is created if missing.

    Raises
    ------
    InputError
        When ``path`` is a directory, is one of the running command's inputs
        (:func:`lartpc_seg.io.paths.refuse_input`), or the disk is full.
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a directory; give the path of a file to write")
    refuse_input(path)
    remove_stale_temporaries(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{_tag()}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    tmp_path = Path(tmp)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        os.close(fd)
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as err:
        if err.errno in DISK_FULL:
            raise InputError(
                path,
                f"{DISK_FULL[err.errno]}, then rerun (nothing was written)",
            ) from err
        raise
    finally:
        tmp_path.unlink(missing_ok=True)


def _writer_is_gone(tag: str | None) -> bool:
    """Whether the process that wrote a temporary with ``tag`` (``PID@HOST``) has ended."""
    if tag is None:
        return True  # a temporary named before writers were tagged
    pid, _, host = tag.partition("@")
    if host != socket.gethostname():
        return False  # another node's process: cannot tell, leave it
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporary files that killed writers of ``path`` left next to it.

    A process killed with SIGKILL during a write cannot clean up after itself; the next write
    of ``path`` (every :func:`atomic_path`) removes its temporary. A temporary of a process that
    is still running on this host, or of a process on another host, is kept. The final file is
    never touched.

    Returns
    -------
    list of Path
        The files removed.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pattern = re.compile(
        rf"^\.{re.escape(path.name)}\.(?:(\d+@.+)\.)?[^.]+\.tmp{re.escape(path.suffix)}$"
    )
    stale = []
    for candidate in path.parent.glob(f".{glob.escape(path.name)}.*.tmp{glob.escape(path.suffix)}"):
        match = pattern.match(candidate.name)
        if match and candidate.is_file() and _writer_is_gone(match.group(1)):
            candidate.unlink(missing_ok=True)
            stale.append(candidate)
    return sorted(stale)
