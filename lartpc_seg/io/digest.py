"""SHA-256 digests of files: recorded in checkpoints and outputs, and checked on downloads."""

from __future__ import annotations

import hashlib
from pathlib import Path


def update_from_file(digest: hashlib._Hash, path: str | Path, *, chunk: int = 1 << 20) -> None:
    """Feed a file's bytes into ``digest``, ``chunk`` bytes at a time."""
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)


def file_sha256(path: str | Path, *, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes, read ``chunk`` bytes at a time."""
    digest = hashlib.sha256()
    update_from_file(digest, path, chunk=chunk)
    return digest.hexdigest()
