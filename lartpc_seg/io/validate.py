"""Checks of the content of event and prediction files (docs/event-format.md), named precisely.

Each check takes a block of entries as read from the file's tree and returns
:class:`~lartpc_seg.errors.InputError` objects instead of raising, so that ``validate`` can list
every problem of a file while a reader raises the first. The structure of a file (trees,
branches, types) is checked where files are opened, in :mod:`lartpc_seg.io.root`.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from lartpc_seg.errors import InputError
from lartpc_seg.labels import NUM_CLASSES


def _to_numpy(array: ak.Array) -> np.ndarray:
    return ak.to_numpy(ak.flatten(array, axis=None))


def event_problems(
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


def prediction_problems(path: str | Path, arrays: ak.Array) -> list[InputError]:
    """Problems with the content of a block of entries read from the ``predictions`` tree.

    Checks that ``nvox`` agrees with every ``vox_*`` array, then that predicted classes are
    classes; each problem names the event number and the branch. A count that disagrees stops
    the checks (the arrays cannot be split into events), so at most one problem is returned.

    Parameters
    ----------
    path : str or Path
        The file's path, for the messages.
    arrays : ak.Array
        Every branch of the block, as ``tree.arrays(...)`` returns it.
    """
    problems: list[InputError] = []
    counts = ak.to_numpy(ak.num(arrays["vox_pred"], axis=1))
    stored = ak.to_numpy(arrays["nvox"])
    for branch in [f for f in arrays.fields if f.startswith("vox_")]:
        lengths = ak.to_numpy(ak.num(arrays[branch], axis=1))
        bad = np.flatnonzero((lengths != stored) | (counts != stored))
        if bad.size:
            problems.append(
                InputError(
                    path,
                    f"nvox = {stored[bad[0]]} but the arrays hold {lengths[bad[0]]} entries",
                    event=int(arrays["event"][bad[0]]),
                    field=branch,
                )
            )
            return problems
    offsets = np.concatenate([[0], np.cumsum(counts)])
    pred = _to_numpy(arrays["vox_pred"])
    bad = np.flatnonzero((pred < 0) | (pred >= NUM_CLASSES))
    if bad.size:
        event_index = np.searchsorted(offsets, bad[0], side="right") - 1
        problems.append(
            InputError(
                path,
                f"predicted class {pred[bad[0]]} outside 0..{NUM_CLASSES - 1}",
                event=int(arrays["event"][event_index]),
                field="vox_pred",
            )
        )
    return problems
