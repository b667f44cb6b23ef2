"""The code version recorded in every checkpoint and output file."""

from __future__ import annotations

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
