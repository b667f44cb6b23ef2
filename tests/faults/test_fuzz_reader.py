"""Fuzzing the event-file reader: whatever the bytes, only ``InputError`` may escape.

Three generators: random bytes; a valid file with bytes overwritten or cut at random positions;
and valid-looking ``events`` trees written through uproot with random dtypes, flat or jagged
branches, and random values. Both ``EventFile`` (open + read) and ``file_problems`` (validate)
run on each input. The example counts are bounded to keep the suite fast.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lartpc_seg.errors import InputError
from lartpc_seg.io.events import EVENT_BRANCHES, EventFile, FileMeta, file_problems, write_events

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _read_everything(path: Path) -> None:
    """Open and read ``path`` both ways; anything but InputError fails the test."""
    problems = file_problems(path)
    assert all(isinstance(p, InputError) for p in problems)
    try:
        with EventFile(path) as f:
            f.read()
    except InputError as err:
        assert str(path) in str(err)


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory) -> bytes:
    """The bytes of a small valid simulated event file (grid 32, 3 events)."""
    from lartpc_seg.cli import main

    path = tmp_path_factory.mktemp("fuzz") / "valid.root"
    assert (
        main(["simulate", "--events", "3", "--seed", "5", "--grid", "32", "--out", str(path)]) == 0
    )
    return path.read_bytes()


def _write_bytes(data: bytes) -> Path:
    fd, name = tempfile.mkstemp(suffix=".root")
    with open(fd, "wb") as f:
        f.write(data)
    return Path(name)


@pytest.mark.slow
@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes(data):
    path = _write_bytes(data)
    try:
        _read_everything(path)
    finally:
        path.unlink()


@pytest.mark.slow
@FUZZ
@given(
    cut=st.one_of(st.none(), st.floats(0.0, 1.0)),
    edits=st.lists(st.tuples(st.floats(0.0, 1.0), st.binary(min_size=1, max_size=8)), max_size=6),
)
def test_mutated_valid_file(valid_bytes, cut, edits):
    data = bytearray(valid_bytes)
    for where, patch in edits:
        i = int(where * (len(data) - len(patch)))
        data[i : i + len(patch)] = patch
    if cut is not None:
        data = data[: int(cut * len(data))]
    path = _write_bytes(bytes(data))
    try:
        _read_everything(path)
    finally:
        path.unlink()


DTYPES = [np.int8, np.int32, np.int64, np.float32, np.float64, np.bool_]


@st.composite
def event_trees(draw) -> dict[str, object]:
    """Branches of the contract with random dtypes, flatness, lengths and values."""
    n_events = draw(st.integers(0, 4))
    columns: dict[str, object] = {}
    for name in EVENT_BRANCHES:
        if name != "event" and draw(st.integers(0, 9)) == 0:
            continue  # a missing branch now and then
        dtype = EVENT_BRANCHES[name] if draw(st.booleans()) else draw(st.sampled_from(DTYPES))
        jagged = name.startswith(("vox_", "part_")) != (draw(st.integers(0, 9)) == 0)
        values = st.integers(-3, 40) if draw(st.booleans()) else st.floats(allow_nan=True, width=32)
        if jagged:
            counts = draw(st.lists(st.integers(0, 5), min_size=n_events, max_size=n_events))
            flat = np.array(
                draw(st.lists(values, min_size=sum(counts), max_size=sum(counts))), dtype=np.float64
            )
            with np.errstate(invalid="ignore", over="ignore"):
                columns[name] = ak.unflatten(
                    np.nan_to_num(flat).astype(dtype), np.array(counts, np.int64)
                )
        else:
            flat = np.array(
                draw(st.lists(values, min_size=n_events, max_size=n_events)), dtype=np.float64
            )
            with np.errstate(invalid="ignore", over="ignore"):
                columns[name] = np.nan_to_num(flat).astype(dtype)
    return columns


@pytest.mark.slow
@FUZZ
@given(columns=event_trees(), grid=st.integers(-1, 40))
def test_valid_looking_trees_of_wrong_types_and_shapes(columns, grid, faults):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.root"
        faults.write_columns(path, columns, grid=grid)
        _read_everything(path)


def test_fuzz_baseline_is_valid(valid_bytes, tmp_path):
    """The file the mutations start from is valid, so the mutations are what is tested."""
    path = tmp_path / "valid.root"
    path.write_bytes(valid_bytes)
    assert file_problems(path) == []
    with EventFile(path) as f:
        assert len(f.read()) == 3
    assert write_events(tmp_path / "again.root", f_events(path), FileMeta(grid=32)) == 3


def f_events(path: Path):
    """Every event of ``path``."""
    with EventFile(path) as f:
        yield from f.iterate()
