"""SHA-256 digests of files: recorded in checkpoints and outputs, and checked on downloads."""

from __future__ import annotations

import hashlib
from pathlib import Path

from lartpc_seg.errors import InputError


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


#: (device, inode, size, mtime) of a file → its digest: a file paired with several others (the
#: events of every variant's predictions) is read once.
_DIGESTS: dict[tuple[int, int, int, int], str] = {}


def cached_file_sha256(path: str | Path) -> str:
    """:func:`file_sha256`, remembered while the file keeps its identity, size and mtime."""
    st = Path(path).stat()
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_sha256(path)
    return _DIGESTS[key]


def check_made_from(path: str | Path, claimed: str | None, source: str | Path, field: str) -> None:
    """Refuse ``path`` if it records (as ``field``) a digest of ``source`` other than its own.

    A file that records nothing claims nothing and passes; the pairing checks of its reader
    (event numbers, voxel counts) still apply.

    Raises
    ------
    InputError
        Naming ``path``, ``field`` and ``source``: the file was made from other content than
        ``source`` holds now (the same number of events and voxels is no proof of the same ones).
    """
    if not claimed:
        return
    actual = cached_file_sha256(source)
    if claimed != actual:
        raise InputError(
            path,
            f"was made from other contents than {source} holds now (recorded {claimed[:12]}..., "
            f"the file is {actual[:12]}...): rerun the step that made it from this file",
            field=field,
        )
