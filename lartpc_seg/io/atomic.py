"""Atomic output: write to a temporary name in the same directory, rename when complete."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` if the block succeeds.

    The temporary file keeps ``path``'s suffix so that libraries choosing a format by extension
    still do the right thing. On any exception the temporary file is removed and ``path`` is left
    as it was, so a downstream rule never takes a partial file for a finished one.

    Parameters
    ----------
    path : str or Path
        The final output path. Its directory is created if missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def remove_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove temporary files that :func:`atomic_path` left next to ``path``.

    A process killed with SIGKILL during a write cannot clean up after itself; the next run
    that writes ``path`` calls this first. The final file is never touched.

    Returns
    -------
    list of Path
        The files removed.
    """
    path = Path(path)
    if not path.parent.is_dir():
        return []
    stale = [p for p in path.parent.glob(f".{path.name}.*.tmp{path.suffix}") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale
