"""Fuzzing the event-file reader: every damaged file is refused, or proven harmless.

Four generators: random bytes; a valid file with bytes overwritten or cut at random positions;
a valid file with one byte flipped inside a basket ROOT stores uncompressed (no decompression
error, no checksum: only the content digest stands between such a byte and a wrong value); and
valid-looking ``events`` trees written through uproot with random dtypes, flat or jagged
branches, and random values. Both ``EventFile`` (open + read) and ``file_problems`` (validate)
run on each input, and only ``InputError`` may escape. A file is *refused* when both say so;
a file they accept must read back exactly what the original held, events and meta (a mutation
of bytes no reader uses, a patch equal to the bytes it replaced), else the reader passed a wrong
event silently. The example counts are bounded to keep the suite fast.
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
from lartpc_seg.io.events import EVENT_BRANCHES, Event, EventFile, file_problems, write_events
from lartpc_seg.io.root import FileMeta

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _read_everything(path: Path) -> tuple[list[Event], FileMeta] | None:
    """Open and read ``path`` both ways: its events and meta, or None when both refuse it.

    Anything but InputError fails the test, as does a file that one of the two accepts and the
    other refuses (the workflow validates with one and reads with the other).
    """
    problems = file_problems(path)
    for problem in problems:
        assert str(path) in str(problem), problem
    try:
        with EventFile(path) as f:
            events = f.read(), f.meta
    except InputError as err:
        assert str(path) in str(err)
        events = None
    assert (events is None) == bool(problems), (
        f"validate says {problems[:1] or 'OK'}, the reader "
        f"{'refuses' if events is None else 'accepts'} {path}"
    )
    return events


def _assert_refused_or_unchanged(path: Path, valid_file) -> None:
    """``path`` is refused by both readers, or reads back the valid file's events and meta."""
    read = _read_everything(path)
    if read is not None:
        assert _same_events(read[0], valid_file[1]), "a damaged file was read as other events"
        assert read[1] == valid_file[2], "a damaged file was read with another meta"


def _same_events(got: list[Event], want: list[Event]) -> bool:
    """Whether two event lists hold the same numbers, voxels and particles."""
    if len(got) != len(want):
        return False
    for a, b in zip(got, want, strict=True):
        if a.event != b.event:
            return False
        for name in ("coords", "energy", "label", "relabel", "part"):
            if not np.array_equal(getattr(a, name), getattr(b, name)):
                return False
        for name in ("pdg", "parent", "process", "cls", "ke", "start", "end", "edep"):
            if not np.array_equal(getattr(a.particles, name), getattr(b.particles, name)):
                return False
    return True


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory, faults) -> tuple[bytes, list[Event], FileMeta, list[int]]:
    """A small valid simulated event file (grid 32, 3 events): its bytes, events and meta, and
    the positions of the bytes of its baskets stored uncompressed (both trees)."""
    from lartpc_seg.cli import main

    path = tmp_path_factory.mktemp("fuzz") / "valid.root"
    assert main(faults.simulate_argv(path, events=3, seed=5)) == 0
    baskets = faults.uncompressed_baskets(path, "events") | faults.uncompressed_baskets(
        path, "meta"
    )
    positions = [i for ranges in baskets.values() for a, b in ranges for i in range(a, b)]
    with EventFile(path) as f:
        return path.read_bytes(), f.read(), f.meta, positions


@pytest.fixture(scope="module")
def valid_bytes(valid_file) -> bytes:
    """The bytes of the valid file the mutations start from."""
    return valid_file[0]


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
        assert _read_everything(path) is None, "random bytes were accepted as an event file"
    finally:
        path.unlink()


MUTATIONS = {
    "cut": st.one_of(st.none(), st.floats(0.0, 1.0)),
    "edits": st.lists(
        st.tuples(st.floats(0.0, 1.0), st.binary(min_size=1, max_size=8)), max_size=6
    ),
}


def _mutated(valid_bytes: bytes, cut: float | None, edits: list) -> bytes:
    data = bytearray(valid_bytes)
    for where, patch in edits:
        i = int(where * (len(data) - len(patch)))
        data[i : i + len(patch)] = patch
    if cut is not None:
        data = data[: int(cut * len(data))]
    return bytes(data)


@pytest.mark.slow
@FUZZ
@given(**MUTATIONS)
def test_mutated_valid_file(valid_file, cut, edits):
    """Only InputError escapes, and validate and the reader agree on every damaged file."""
    path = _write_bytes(_mutated(valid_file[0], cut, edits))
    try:
        _read_everything(path)
    finally:
        path.unlink()


FLIP = {"where": st.floats(0.0, 1.0, exclude_max=True), "mask": st.integers(1, 255)}


def _flipped(valid_file, where: float, mask: int) -> bytearray:
    """The valid file with the byte at ``where`` of its uncompressed baskets XORed by ``mask``."""
    data = bytearray(valid_file[0])
    positions = valid_file[3]
    data[positions[int(where * len(positions))]] ^= mask
    return data


@pytest.mark.slow
@FUZZ
@given(**MUTATIONS, **FLIP)
def test_mutated_valid_file_is_refused_or_unchanged(valid_file, cut, edits, where, mask):
    """Random patches and cuts on top of one flipped byte in an uncompressed basket (where the
    patches alone rarely land, so that this test did not depend on the file's layout)."""
    path = _write_bytes(_mutated(bytes(_flipped(valid_file, where, mask)), cut, edits))
    try:
        _assert_refused_or_unchanged(path, valid_file)
    finally:
        path.unlink()


@FUZZ
@given(**FLIP)
def test_flipped_byte_in_uncompressed_basket_is_refused_or_unchanged(valid_file, where, mask):
    """A byte of a basket stored as it is read (events or meta) is XORed with ``mask``."""
    path = _write_bytes(bytes(_flipped(valid_file, where, mask)))
    try:
        _assert_refused_or_unchanged(path, valid_file)
    finally:
        path.unlink()


def test_the_valid_file_has_uncompressed_baskets(valid_file):
    """The flips above land where no decompression can notice them: there are such bytes."""
    assert len(valid_file[3]) > 1000


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
        read = _read_everything(path)
    if read is not None:
        events = read[0]
        # accepted: then it met the contract as written, and reads back what was written
        missing = set(EVENT_BRANCHES) - set(columns)
        assert not missing, f"accepted without the branches {sorted(missing)}"
        for name, dtype in EVENT_BRANCHES.items():
            if name in columns:
                written = columns[name]
                flat = ak.flatten(written) if isinstance(written, ak.Array) else written
                assert np.asarray(flat).dtype == dtype, (
                    f"{name} accepted as {np.asarray(flat).dtype}"
                )
        assert [e.event for e in events] == list(np.asarray(columns["event"]))


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
