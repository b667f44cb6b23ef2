"""The uproot edge of the project: opening ROOT files, checking their structure, writing trees.

Every file of the project (events, predictions) is one data TTree plus the one-entry TTree
``meta`` (docs/event-format.md). This module knows ROOT and uproot; :mod:`lartpc_seg.io.events`
and :mod:`lartpc_seg.io.predictions` know what their trees hold.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import awkward as ak
import numpy as np
import uproot

from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.io.digest import (
    CONTENT_FIELD,
    ContentDigest,
    branch_columns,
    check_content,
    recorded_content_digest,
)
from lartpc_seg.labels import PROCESS_NAMES

T = TypeVar("T")

META_TREE = "meta"


def open_root(path: str | Path) -> uproot.ReadOnlyDirectory:
    """Open a ROOT file for reading, turning every failure into an :class:`InputError`."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file")
    if path.stat().st_size == 0:
        raise InputError(path, "the file is empty (0 bytes)")
    try:
        return uproot.open(path)
    except Exception as err:  # uproot raises many types for a file that is not ROOT
        raise InputError(path, f"not a readable ROOT file ({type(err).__name__}: {err})") from err


def _branch_type(branch: uproot.TBranch) -> tuple[np.dtype | None, bool]:
    """Element dtype of a branch and whether it holds one list per entry."""
    interp = branch.interpretation
    jagged = isinstance(interp, uproot.interpretation.jagged.AsJagged)
    if jagged:
        interp = interp.content
    to_dtype = getattr(interp, "to_dtype", None)
    if to_dtype is None:
        return None, jagged
    dtype = np.dtype(to_dtype)
    return (dtype.base if dtype.subdtype is not None else dtype), jagged


def is_per_voxel(name: str) -> bool:
    """Whether a branch of the contract holds one list per entry (``vox_*``, ``part_*``)."""
    return name.startswith(("vox_", "part_"))


def structure_problems(
    path: str | Path,
    file: uproot.ReadOnlyDirectory,
    tree_name: str,
    branches: dict[str, np.dtype],
) -> list[InputError]:
    """Problems with the trees and branches of a file: missing tree, missing or mistyped branch.

    Parameters
    ----------
    path : str or Path
        The file's path, for the messages.
    file : uproot.ReadOnlyDirectory
        The open file.
    tree_name : str
        The tree that must be there.
    branches : dict of str to numpy.dtype
        Every branch the tree must hold, with its element type.
    """
    try:
        present = tree_name in file
        tree = file[tree_name] if present else None
    except Exception as err:
        return [InputError(path, f"cannot read TTree '{tree_name}' ({err})", field=tree_name)]
    if tree is None or not isinstance(tree, uproot.TTree):
        found = ", ".join(sorted({k.split(";")[0] for k in file.keys()})) or "nothing"
        return [InputError(path, f"no TTree '{tree_name}' in the file (found: {found})")]
    problems = []
    keys = set(tree.keys())
    for name, dtype in branches.items():
        if name not in keys:
            problems.append(InputError(path, f"missing branch in TTree '{tree_name}'", field=name))
            continue
        try:
            found, jagged = _branch_type(tree[name])
        except Exception as err:
            problems.append(InputError(path, f"unreadable branch ({err})", field=name))
            continue
        wanted = f"var * {dtype}" if is_per_voxel(name) else str(dtype)
        have = f"var * {found}" if jagged else str(found)
        if found is None or found.newbyteorder("=") != dtype or jagged != is_per_voxel(name):
            problems.append(
                InputError(path, f"branch has type {have}, the contract says {wanted}", field=name)
            )
    return problems


def read_arrays(
    path: Path, tree: uproot.TTree, branches: list[str], start: int, stop: int
) -> ak.Array:
    """Entries ``start:stop`` of ``branches``; a damaged file's failure becomes an InputError."""
    try:
        return tree.arrays(branches, entry_start=start, entry_stop=stop)
    except Exception as err:  # a truncated or damaged file fails deep inside uproot
        raise InputError(
            path, f"cannot read entries {start}..{stop} ({type(err).__name__}: {err})"
        ) from err


@dataclass
class FileMeta:
    """The one-entry ``meta`` tree.

    Attributes
    ----------
    grid : int
        Voxels per side of the cube.
    voxel_mm : float
        Voxel pitch, mm.
    source : str
        The generator and its version, or the imported file.
    seed : int
        The random seed that made the file (-1 when not simulated).
    config : str
        The configuration that made the file, as YAML.
    extra : dict of str to str
        Further string fields (predictions add the checkpoint and the events file's digest).
    """

    grid: int
    voxel_mm: float = 3.0
    source: str = ""
    seed: int = -1
    config: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def write(self, file: uproot.WritableDirectory) -> None:
        """Write this meta as the one-entry ``meta`` tree of an open writable file."""
        strings = {"source": self.source, "processes": PROCESS_NAMES, "config": self.config}
        strings.update(self.extra)
        types: dict[str, object] = {"grid": np.int32, "voxel_mm": np.float32, "seed": np.int64}
        types.update({k: "string" for k in strings})
        tree = file.mktree(META_TREE, types)
        data: dict[str, np.ndarray] = {
            "grid": np.array([self.grid], np.int32),
            "voxel_mm": np.array([self.voxel_mm], np.float32),
            "seed": np.array([self.seed], np.int64),
        }
        data.update({k: np.array([v], dtype=object) for k, v in strings.items()})
        tree.extend(data)

    def content_bytes(self) -> bytes:
        """This meta's part of the content digest (docs/event-format.md, "Content digest").

        ``grid`` (int32), ``voxel_mm`` (float32) and ``seed`` (int64), little-endian, then every
        string field but the digest itself (``source``, ``config`` and the extra fields; not
        ``processes``, which the program writes from its own table) sorted by name, each as
        name then value, both UTF-8 (a damaged string: its bytes as they are) and preceded by
        their length in bytes (uint64, little-endian).
        """
        parts = [
            np.array([self.grid], "<i4").tobytes(),
            np.array([self.voxel_mm], "<f4").tobytes(),
            np.array([self.seed], "<i8").tobytes(),
        ]
        strings = {"source": self.source, "config": self.config, **self.extra}
        strings.pop(CONTENT_FIELD, None)
        for name in sorted(strings):
            for text in (name, strings[name]):
                raw = text.encode("utf-8", "surrogateescape")  # uproot's decoding of bad bytes
                parts.append(len(raw).to_bytes(8, "little") + raw)
        return b"".join(parts)

    @classmethod
    def read(cls, path: str | Path, file: uproot.ReadOnlyDirectory) -> FileMeta:
        """Read the ``meta`` tree of an open file, naming ``path`` in any error."""
        try:
            if META_TREE not in file:
                raise InputError(path, f"no TTree '{META_TREE}' in the file", field=META_TREE)
            tree = file[META_TREE]
            columns = tree.arrays(library="np")
        except InputError:
            raise
        except Exception as err:  # a truncated or damaged file fails deep inside uproot
            raise InputError(
                path, f"cannot read the meta tree ({type(err).__name__}: {err})", field=META_TREE
            ) from err
        values = {}
        for key, arr in columns.items():
            if len(arr) != 1:
                raise InputError(path, f"meta tree must have one entry, has {len(arr)}", field=key)
            values[key] = arr[0]
        for key in ("grid",):
            if key not in values:
                raise InputError(path, "missing meta field", field=f"{META_TREE}.{key}")
        known = {"grid", "voxel_mm", "source", "seed", "config", "processes"}
        return cls(
            grid=int(values["grid"]),
            voxel_mm=float(values.get("voxel_mm", 3.0)),
            source=str(values.get("source", "")),
            seed=int(values.get("seed", -1)),
            config=str(values.get("config", "")),
            extra={k: str(v) for k, v in values.items() if k not in known},
        )


def content_digest(branches: dict[str, np.dtype]) -> ContentDigest:
    """An empty content digest of a tree with these contract branches."""
    return ContentDigest(branches, {name for name in branches if is_per_voxel(name)})


class TreeFile:
    """A project file opened for reading: its data tree checked against the contract, its meta.

    Subclasses name the tree (``TREE``), its branches (``BRANCHES``) and how to remake a file
    (``REMAKE``). Opening raises the first structural problem as an
    :class:`~lartpc_seg.errors.InputError` naming the file and the branch.

    Reading checks the arrays against the content digest the writer stored in ``meta``
    (docs/event-format.md): a file without one is refused on its first read, and a file whose
    arrays do not hash to it is refused, so a changed byte is never read as other values:

    - Ranges read in order from entry 0 (:meth:`_arrays`, so ``read`` in consecutive ranges or
      at once) are hashed as they are read, and the read that reaches the last entry compares,
      before it returns. Earlier ranges are handed out before that check: a reader that goes to
      the end fails before its (atomically written) output exists.
    - A range out of that order (one event, a second pass) first checks the whole file: the
      entries not hashed yet are read once more (:meth:`verify`).
    - Leaving the ``with`` block normally after reading only part of the file checks the rest
      then, so the data handed out is proven before the block is left. ``close`` alone does not
      check, nor does opening a file only to read its ``meta`` (``simulate --like`` reads the
      ``meta`` of files without a digest to remake them).

    Parameters
    ----------
    path : str or Path
        The file.
    """

    TREE: str
    BRANCHES: dict[str, np.dtype]
    REMAKE: str

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = open_root(self.path)
        problems = structure_problems(self.path, self._file, self.TREE, self.BRANCHES)
        if problems:
            self._file.close()
            raise problems[0]
        self.tree = self._file[self.TREE]
        self.meta = FileMeta.read(self.path, self._file)
        self._digest = content_digest(self.BRANCHES)
        self._hashed = 0  # entries 0.._hashed have been fed to self._digest
        self._verified = False

    def __len__(self) -> int:
        return int(self.tree.num_entries)

    def _arrays(self, start: int, stop: int) -> ak.Array:
        """Every contract branch of entries ``start:stop``, checked against the content digest."""
        recorded_content_digest(self.path, self.meta.extra, self.REMAKE)
        if not self._verified and start != self._hashed:
            self.verify()
        arrays = read_arrays(self.path, self.tree, list(self.BRANCHES), start, stop)
        if not self._verified:
            self._feed(arrays, stop)
        return arrays

    def _feed(self, arrays: ak.Array, stop: int) -> None:
        self._digest.update(arrays)
        self._hashed = stop
        if stop >= len(self):
            check_content(self.path, self.meta.extra, self._digest, self.meta.content_bytes())
            self._verified = True

    def verify(self, step: int = 500) -> None:
        """Check the whole file against its content digest, reading what is not hashed yet.

        Raises
        ------
        InputError
            When the file has no content digest or its arrays do not match it.
        """
        recorded_content_digest(self.path, self.meta.extra, self.REMAKE)
        while not self._verified:
            stop = min(self._hashed + step, len(self))
            self._feed(
                read_arrays(self.path, self.tree, list(self.BRANCHES), self._hashed, stop), stop
            )

    def close(self) -> None:
        """Close the underlying file."""
        self._file.close()

    def __enter__(self) -> TreeFile:
        return self

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        try:
            if exc_type is None and self._hashed > 0:
                self.verify()
        finally:
            self.close()


def write_tree_file(
    path: str | Path,
    tree_name: str,
    branches: dict[str, np.dtype],
    items: Iterable[T],
    columns_of: Callable[[list[T]], dict[str, np.ndarray | ak.Array]],
    meta: FileMeta,
    *,
    chunk_size: int = 100,
    compression_level: int = 5,
) -> int:
    """Write one entry per item into a TTree, chunk by chunk, plus ``meta``, atomically.

    Parameters
    ----------
    path : str or Path
        Output file; it appears only once complete.
    tree_name : str
        Name of the TTree.
    branches : dict of str to numpy.dtype
        The tree's contract: the content digest of these branches (in this order) is added to
        ``meta`` as ``content_sha256``.
    items : iterable
        Consumed lazily, so a generator keeps memory bounded.
    columns_of : callable
        Turns a list of items (possibly empty) into the columns of those entries: flat numpy
        arrays, or awkward arrays of records (jagged; their fields share one counter).
    meta : FileMeta
        Written as the ``meta`` tree.
    chunk_size : int
        Entries per TTree basket.
    compression_level : int
        ZSTD level.

    Returns
    -------
    int
        Number of entries written.
    """
    n = 0
    digest = content_digest(branches)
    with atomic_path(path) as tmp:
        with uproot.recreate(tmp, compression=uproot.ZSTD(compression_level)) as file:
            tree = None
            chunk: list[T] = []

            def flush() -> None:
                nonlocal tree
                columns = columns_of(chunk)
                if tree is None:
                    types = {
                        k: v.type.content if isinstance(v, ak.Array) else v.dtype
                        for k, v in columns.items()
                    }
                    tree = file.mktree(tree_name, types)
                tree.extend(columns)
                digest.update(branch_columns(columns))
                chunk.clear()

            for item in items:
                chunk.append(item)
                n += 1
                if len(chunk) >= chunk_size:
                    flush()
            if chunk or tree is None:
                flush()
            extra = {**meta.extra, CONTENT_FIELD: digest.hexdigest(meta.content_bytes())}
            replace(meta, extra=extra).write(file)
    return n
