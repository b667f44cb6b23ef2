"""Checks of files against the contract of event-format.md, each problem named precisely.

Every check returns :class:`~lartpc_seg.errors.InputError` objects instead of raising, so that
``validate`` can list every problem of a file while a reader raises the first.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from lartpc_seg.errors import InputError
from lartpc_seg.labels import NUM_CLASSES


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


def _to_numpy(array: ak.Array) -> np.ndarray:
    return ak.to_numpy(ak.flatten(array, axis=None))


def arrays_problems(
    path: str | Path, arrays: ak.Array, grid: int, *, first_only: bool = False
) -> list[InputError]:
    """Problems with the content of a block of events read from the ``events`` tree.

    Checks that the counters agree with the arrays, voxels lie inside the grid, energies are
    finite and positive, labels are classes, ``vox_part`` points into the particle table, parents
    point into the table, and no voxel appears twice in an event. Checks are vectorised over the
    whole block; each problem names the event number, the branch and the first offending voxel.

    Parameters
    ----------
    path : str or Path
        The file's path, for the messages.
    arrays : ak.Array
        Every branch of the block, as ``tree.arrays(...)`` returns it.
    grid : int
        Voxels per side from the file's ``meta`` tree.
    first_only : bool
        Stop at the first problem (readers) rather than collecting all (``validate``).
    """
    problems: list[InputError] = []
    numbers = ak.to_numpy(arrays["event"])
    nvox = ak.to_numpy(ak.num(arrays["vox_x"], axis=1))
    npart = ak.to_numpy(ak.num(arrays["part_pdg"], axis=1))
    ev_of_vox = np.repeat(np.arange(len(numbers)), nvox)
    ev_of_part = np.repeat(np.arange(len(numbers)), npart)

    def add(mask: np.ndarray, owner: np.ndarray, field: str, what: str, values: np.ndarray) -> bool:
        bad = np.flatnonzero(mask)
        if bad.size == 0:
            return False
        for event_index in np.unique(owner[bad]):
            first = bad[owner[bad] == event_index][0]
            n_bad = int((owner[bad] == event_index).sum())
            offsets = np.searchsorted(owner, event_index)
            problems.append(
                InputError(
                    path,
                    f"{what}: {n_bad} entries, first at index {first - offsets} "
                    f"(value {values[first]})",
                    event=int(numbers[event_index]),
                    field=field,
                )
            )
            if first_only:
                return True
        return first_only

    for name, counts, counter in (("vox", nvox, "nvox"), ("part", npart, "npart")):
        stored = ak.to_numpy(arrays[counter])
        for branch in [f for f in arrays.fields if f.startswith(f"{name}_")]:
            lengths = ak.to_numpy(ak.num(arrays[branch], axis=1))
            bad = np.flatnonzero((lengths != counts) | (stored != counts))
            if bad.size:
                i = bad[0]
                problems.append(
                    InputError(
                        path,
                        f"{counter} = {stored[i]} but the arrays hold {lengths[i]} entries",
                        event=int(numbers[i]),
                        field=branch,
                    )
                )
                return problems
    if len(np.unique(numbers)) != len(numbers):
        uniq, counts = np.unique(numbers, return_counts=True)
        problems.append(
            InputError(
                path,
                "event number appears more than once",
                event=int(uniq[counts > 1][0]),
                field="event",
            )
        )
        if first_only:
            return problems

    coords = np.stack([_to_numpy(arrays[f"vox_{a}"]).astype(np.int64) for a in "xyz"], axis=1)
    for axis, column in zip("xyz", coords.T, strict=True):
        if add(
            (column < 0) | (column >= grid),
            ev_of_vox,
            f"vox_{axis}",
            f"voxel index outside the grid 0..{grid - 1}",
            column,
        ):
            return problems
    energy = _to_numpy(arrays["vox_e"])
    if add(~np.isfinite(energy), ev_of_vox, "vox_e", "energy is NaN or infinite", energy):
        return problems
    if add(energy <= 0, ev_of_vox, "vox_e", "energy is not positive", energy):
        return problems
    for branch in ("vox_label", "vox_relabel"):
        labels = _to_numpy(arrays[branch])
        if add(
            (labels < 0) | (labels >= NUM_CLASSES),
            ev_of_vox,
            branch,
            f"label outside 0..{NUM_CLASSES - 1}",
            labels,
        ):
            return problems
    vox_part = _to_numpy(arrays["vox_part"]).astype(np.int64)
    if add(
        (vox_part < 0) | (vox_part >= np.repeat(npart, nvox)),
        ev_of_vox,
        "vox_part",
        "particle index outside the particle table",
        vox_part,
    ):
        return problems
    parent = _to_numpy(arrays["part_parent"]).astype(np.int64)
    if add(
        (parent < -1) | (parent >= np.repeat(npart, npart)),
        ev_of_part,
        "part_parent",
        "parent index outside the particle table",
        parent,
    ):
        return problems

    if len(coords):
        key = ((ev_of_vox * grid + coords[:, 0]) * grid + coords[:, 1]) * grid + coords[:, 2]
        order = np.argsort(key, kind="stable")
        dup_sorted = np.zeros(len(key), dtype=bool)
        dup_sorted[1:] = key[order][1:] == key[order][:-1]
        dup = np.zeros(len(key), dtype=bool)
        dup[order] = dup_sorted
        add(dup, ev_of_vox, "vox_x", "duplicate voxel (the same x, y, z twice)", coords[:, 0])
    return problems


def file_problems(path: str | Path, *, step: int = 500) -> list[InputError]:
    """Every problem of an event file, reading ``step`` events at a time."""
    from lartpc_seg.io.events import EVENT_BRANCHES, EVENTS_TREE, FileMeta

    try:
        file = open_root(path)
    except InputError as err:
        return [err]
    problems = structure_problems(path, file, EVENTS_TREE, EVENT_BRANCHES)
    try:
        meta = FileMeta.read(path, file)
    except InputError as err:
        problems.append(err)
        return problems
    if problems:
        return problems
    tree = file[EVENTS_TREE]
    for start in range(0, tree.num_entries, step):
        try:
            arrays = tree.arrays(list(EVENT_BRANCHES), entry_start=start, entry_stop=start + step)
        except Exception as err:
            problems.append(
                InputError(path, f"cannot read entries {start}..{start + step} ({err})")
            )
            return problems
        problems.extend(arrays_problems(path, arrays, meta.grid))
    return problems
