"""SHA-256 digests: of files (recorded in checkpoints and outputs, checked on downloads), and of
the content of a project file's arrays (recorded in its ``meta``, checked on reading)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import awkward as ak
import numpy as np

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


#: The ``meta`` field holding a file's :class:`ContentDigest`.
CONTENT_FIELD = "content_sha256"


class ContentDigest:
    """SHA-256 of a tree's arrays and meta, fed range by range (docs/event-format.md).

    Each branch of the contract, in the contract's order, is a *stream* hashed on its own with
    SHA-256: a jagged branch gives two, ``<name>.counts`` (elements per entry, int64
    little-endian) then ``<name>`` (its elements in entry order); a flat branch gives ``<name>``
    (one value per entry). Values are in the contract's dtype, little-endian, raw bytes (NaN and
    -0.0 keep their bits). A last stream ``meta`` holds :meth:`FileMeta.content_bytes`. The
    digest is the SHA-256 of, for each stream in that order, its name in UTF-8, a zero byte and
    its 32-byte SHA-256. Feeding the entries in any split into ranges gives the same digest.

    Parameters
    ----------
    branches : dict of str to numpy.dtype
        The tree's branches in the contract's order, with their element dtypes.
    jagged : set of str
        The branches holding one list per entry.
    """

    def __init__(self, branches: dict[str, np.dtype], jagged: set[str]) -> None:
        self._branches = {k: np.dtype(v).newbyteorder("<") for k, v in branches.items()}
        self._jagged = set(jagged)
        self._streams: dict[str, hashlib._Hash] = {}
        for name in self._branches:
            if name in self._jagged:
                self._streams[f"{name}.counts"] = hashlib.sha256()
            self._streams[name] = hashlib.sha256()

    def update(self, columns: Mapping[str, np.ndarray | ak.Array]) -> None:
        """Feed the next range of entries: one column per branch of the contract."""
        for name, dtype in self._branches.items():
            column = columns[name]
            if name in self._jagged:
                counts, column = _counts_and_values(column)
                self._streams[f"{name}.counts"].update(counts.astype("<i8").data)
            values = ak.to_numpy(column) if isinstance(column, ak.Array) else np.asarray(column)
            self._streams[name].update(np.ascontiguousarray(values, dtype=dtype).data)

    def hexdigest(self, meta: bytes) -> str:
        """The digest of everything fed so far and of ``meta`` (the canonical meta bytes)."""
        total = hashlib.sha256()
        for name, stream in self._streams.items():
            total.update(name.encode() + b"\0" + stream.digest())
        total.update(b"meta\0" + hashlib.sha256(meta).digest())
        return total.hexdigest()


def _counts_and_values(column: ak.Array) -> tuple[np.ndarray, np.ndarray | ak.Array]:
    """Elements per entry and the elements of a jagged column.

    Taken from the offsets and content when the column has them (uproot's arrays do): no copy.
    """
    layout = ak.to_layout(column)
    if isinstance(layout, ak.contents.ListOffsetArray) and isinstance(
        layout.content, ak.contents.NumpyArray
    ):
        offsets = layout.offsets.data
        return np.diff(offsets), layout.content.data[offsets[0] : offsets[-1]]
    return ak.to_numpy(ak.num(column, axis=1)), ak.flatten(column, axis=1)


def branch_columns(columns: dict[str, np.ndarray | ak.Array]) -> dict[str, np.ndarray | ak.Array]:
    """The branches uproot writes for the columns given to ``mktree``/``extend``.

    A jagged record array ``vox`` becomes the counter ``nvox`` and one branch ``vox_<field>``
    per field (uproot's default names); other columns are branches of their own name.
    """
    branches: dict[str, np.ndarray | ak.Array] = {}
    for name, column in columns.items():
        if isinstance(column, ak.Array) and column.fields:
            branches[f"n{name}"] = ak.to_numpy(ak.num(column, axis=1)).astype(np.int32)
            branches.update({f"{name}_{k}": column[k] for k in column.fields})
        else:
            branches[name] = column
    return branches


def recorded_content_digest(path: str | Path, meta: Mapping[str, str], remake: str) -> str:
    """The content digest a file's ``meta`` records; a file without one is refused.

    ``remake`` says how to make the file anew; ``{path}`` in it becomes the file's path.
    """
    claimed = meta.get(CONTENT_FIELD)
    if not claimed:
        raise InputError(
            path,
            "no content digest in the meta tree: the file was written before files recorded one, "
            f"so a changed byte could pass unseen; {remake.format(path=path)}",
            field=f"meta.{CONTENT_FIELD}",
        )
    return claimed


def check_content(
    path: str | Path, meta: Mapping[str, str], digest: ContentDigest, meta_bytes: bytes
) -> None:
    """Refuse ``path`` when its arrays (all fed to ``digest``) are not what ``meta`` records."""
    claimed = meta.get(CONTENT_FIELD, "")
    actual = digest.hexdigest(meta_bytes)
    if actual != claimed:
        raise InputError(
            path,
            f"the content does not match its digest (recorded {claimed[:12]}..., the arrays give "
            f"{actual[:12]}...): the file is damaged; make it again with the command that made it "
            "(or delete it and rerun the workflow), or download it again",
            field=f"meta.{CONTENT_FIELD}",
        )
