"""The code version recorded in every checkpoint and output file."""

from __future__ import annotations

import hashlib
import subprocess
from functools import cache
from pathlib import Path

from lartpc_seg import __version__


@cache
def code_version() -> str:
    """The package version, with the git commit (and ``-dirty``) when run from a checkout."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__}+g{commit}" if commit else __version__


@cache
def source_digest() -> str:
    """SHA-256 of the package's sources: Python and the compiled engine's C++ (relative paths
    and bytes, in sorted order).

    Unlike :func:`code_version`, it changes with every edit of the code, committed or not, and
    with nothing else (documentation, configs, the analysis package): a checkpoint resumes only
    under the code that wrote it.
    """
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    sources = [*root.rglob("*.py"), *root.rglob("*.cpp")]
    for path in sorted(sources):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
