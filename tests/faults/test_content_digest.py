"""The content digest of event and prediction files: written with the arrays, checked on reading.

The digest is recomputed here from its definition in docs/event-format.md, with hashlib and the
arrays uproot reads, so the documented definition is the one the writers follow.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from lartpc_seg.cli import main
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import EVENT_BRANCHES, EventFile, FileMeta, file_problems, write_events
from lartpc_seg.io.predictions import (
    PREDICTION_BRANCHES,
    Prediction,
    PredictionFile,
    write_predictions,
)

GRID = 32
MISMATCH = "content does not match its digest"


def _documented_digest(path: Path, tree: str, branches: dict[str, np.dtype]) -> str:
    """docs/event-format.md, "Content digest", step by step."""
    with uproot.open(path) as file:
        arrays = file[tree].arrays(list(branches))
        meta = {k: v[0] for k, v in file["meta"].arrays(library="np").items()}
    streams = []
    for name, dtype in branches.items():
        column = arrays[name]
        little = np.dtype(dtype).newbyteorder("<")
        if name.startswith(("vox_", "part_")):
            counts = ak.to_numpy(ak.num(column, axis=1)).astype("<i8")
            streams.append((f"{name}.counts", counts.tobytes()))
            column = ak.flatten(column)
        streams.append((name, ak.to_numpy(column).astype(little).tobytes()))
    raw = np.array([meta["grid"]], "<i4").tobytes()
    raw += np.array([meta["voxel_mm"]], "<f4").tobytes() + np.array([meta["seed"]], "<i8").tobytes()
    strings = {k: str(v) for k, v in meta.items() if k not in ("grid", "voxel_mm", "seed")}
    for name in sorted(set(strings) - {"processes", "content_sha256"}):
        for text in (name, strings[name]):
            raw += len(text.encode()).to_bytes(8, "little") + text.encode()
    streams.append(("meta", raw))
    total = hashlib.sha256()
    for name, data in streams:
        total.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return total.hexdigest()


@pytest.fixture
def events(toy_file) -> Path:
    """A toy event file of 7 events, one basket per event (so entries can be damaged alone)."""
    source = toy_file("source.root", 7, seed=3, grid=GRID)
    path = source.with_name("events.root")
    with EventFile(source) as f:
        write_events(path, f.read(), FileMeta(grid=GRID, source="test"), chunk_size=1)
    return path


def _recorded(path: Path) -> str:
    with EventFile(path) as f:
        return f.meta.extra["content_sha256"]


def _flip_in_entry(path: Path, entry: int, faults) -> None:
    """Flip the lowest mantissa bit of the first ``part_ke`` value of ``entry`` (valid after)."""
    start, _ = faults.uncompressed_baskets(path, "events")["part_ke"][entry]
    data = bytearray(path.read_bytes())
    data[start + 3] ^= 0x01
    path.write_bytes(bytes(data))


def test_written_digest_is_the_documented_one(events, tmp_path):
    assert _recorded(events) == _documented_digest(events, "events", EVENT_BRANCHES)
    preds = _predictions(events, tmp_path / "p.root")
    with PredictionFile(preds) as f:
        recorded = f.meta.extra["content_sha256"]
    assert recorded == _documented_digest(preds, "predictions", PREDICTION_BRANCHES)


def test_digest_does_not_depend_on_basket_size(events, tmp_path):
    with EventFile(events) as f:
        read = f.read()
        meta = FileMeta(grid=GRID, source="test")
    for chunk in (2, 100):
        other = tmp_path / f"chunk{chunk}.root"
        write_events(other, read, meta, chunk_size=chunk)
        assert other.read_bytes() != events.read_bytes()
        assert _recorded(other) == _recorded(events)


def test_digest_changes_with_one_value_and_with_the_meta(events, tmp_path):
    with EventFile(events) as f:
        read = f.read()
    read[4].energy = read[4].energy.copy()
    read[4].energy[0] = np.nextafter(read[4].energy[0], np.float32(1e9))
    changed = tmp_path / "changed.root"
    write_events(changed, read, FileMeta(grid=GRID, source="test"))
    assert _recorded(changed) != _recorded(events)
    regrid = tmp_path / "regrid.root"
    write_events(regrid, f_events(events), FileMeta(grid=GRID + 1, source="test"))
    assert _recorded(regrid) != _recorded(events)


def f_events(path: Path):
    with EventFile(path) as f:
        yield from f.iterate(step=3)


def test_every_way_of_reading_a_good_file_passes(events):
    with EventFile(events) as f:
        whole = f.read()
    with EventFile(events) as f:
        ranges = [e for start in range(0, 7, 3) for e in f.read(start, start + 3)]
        again = f.read(2, 4)  # out of order after the whole file was checked
    with EventFile(events) as f:
        one = f.read(5, 6)
    with EventFile(events) as f:
        first = f.read(0, 1)
    assert [e.event for e in ranges] == [e.event for e in whole]
    assert [e.event for e in again] == [e.event for e in whole[2:4]]
    assert one[0].event == whole[5].event and first[0].event == whole[0].event
    assert file_problems(events) == []


@pytest.mark.parametrize("entry", [0, 3, 6])
def test_a_flipped_bit_is_refused_however_the_file_is_read(events, entry, faults):
    _flip_in_entry(events, entry, faults)
    assert [p.field for p in file_problems(events)] == ["meta.content_sha256"]
    with pytest.raises(InputError, match=MISMATCH), EventFile(events) as f:
        f.read()
    with pytest.raises(InputError, match=MISMATCH), EventFile(events) as f:
        list(f.iterate(step=2))
    # one event, out of order: the whole file is checked before it is handed out
    with pytest.raises(InputError, match=MISMATCH), EventFile(events) as f:
        f.read(5, 6)
    # the first events only: checked when the block is left, before the data can be used
    with pytest.raises(InputError, match=MISMATCH), EventFile(events) as f:
        f.read(0, 2)


def test_mismatch_is_one_line_naming_the_file_and_what_to_do(events, faults):
    _flip_in_entry(events, 2, faults)
    outcome = faults.run_in_process(main, ["display", str(events), "--event", "1", "--out", "x"])
    line = faults.assert_user_error(outcome, events, field="meta.content_sha256", words=MISMATCH)
    assert "damaged" in line and "download it again" in line


def test_file_without_digest_is_refused_and_remade_by_the_command_it_names(tmp_path, faults):
    """A simulated file of before digests: refused, naming ``simulate --like``, which remakes
    it with the same events and a digest."""
    made = tmp_path / "made.root"
    assert main(faults.simulate_argv(made, events=3, seed=4, grid=GRID)) == 0
    old = tmp_path / "old.root"
    with uproot.open(made) as file, EventFile(made) as f:
        arrays = file["events"].arrays(list(EVENT_BRANCHES))
        meta = f.meta
    del meta.extra["content_sha256"]  # everything else as the simulator of before wrote it
    columns = {
        k: arrays[k] if arrays[k].ndim > 1 else ak.to_numpy(arrays[k]) for k in EVENT_BRANCHES
    }
    with uproot.recreate(old) as file:
        file.mktree(
            "events",
            {k: v.type.content if isinstance(v, ak.Array) else v.dtype for k, v in columns.items()},
        )
        file["events"].extend(columns)
        meta.write(file)
    with pytest.raises(InputError) as refused, EventFile(old) as f:
        f.read()
    assert f"simulate --like {old} --out" in str(refused.value)
    outcome = faults.run_in_process(main, ["validate", str(old)])
    assert outcome.status != 0 and f"simulate --like {old}" in outcome.stdout
    remade = tmp_path / "remade.root"
    assert main(["simulate", "--like", str(old), "--out", str(remade)]) == 0
    with EventFile(remade) as f, EventFile(made) as g:
        assert f.meta.extra["content_sha256"] == g.meta.extra["content_sha256"]
        assert [e.event for e in f.read()] == [e.event for e in g.read()]


def _predictions(events: Path, path: Path) -> Path:
    """Random scores for every voxel of ``events`` (floats that do not compress)."""
    rng = np.random.default_rng(0)
    preds = []
    with EventFile(events) as f:
        for event in f.read():
            scores = rng.dirichlet(np.ones(5), len(event)).astype(np.float32)
            preds.append(Prediction(event.event, scores.argmax(axis=1).astype(np.int8), scores))
    write_predictions(path, preds, FileMeta(grid=GRID), chunk_size=2)
    return path


def test_prediction_round_trip(events, tmp_path):
    path = _predictions(events, tmp_path / "p.root")
    with EventFile(events) as e, PredictionFile(path, events=e) as f:
        read = f.read()
    assert len(read) == 7 and all(p.scores.dtype == np.float32 for p in read)


def test_a_flipped_byte_in_any_uncompressed_prediction_basket_is_refused(events, tmp_path, faults):
    path = _predictions(events, tmp_path / "p.root")
    good = path.read_bytes()
    baskets = faults.uncompressed_baskets(path, "predictions")
    assert any(name.startswith("vox_score") for name in baskets), baskets
    for ranges in baskets.values():
        for start, _ in ranges:
            data = bytearray(good)
            data[start] ^= 0x40  # the sign and exponent of a float, the top of any integer
            path.write_bytes(bytes(data))
            with pytest.raises(InputError, match=MISMATCH), PredictionFile(path) as f:
                f.read()


def test_prediction_file_without_digest_names_infer(events, tmp_path, faults):
    columns = {"event": np.array([1], np.int64), "nvox": np.array([1], np.int32)}
    columns["vox_pred"] = ak.unflatten(np.array([1], np.int8), [1])
    columns.update(
        {f"vox_score{c}": ak.unflatten(np.full(1, 0.2, np.float32), [1]) for c in range(5)}
    )
    path = faults.write_columns(tmp_path / "old.root", columns, tree="predictions", digest=False)
    with (
        pytest.raises(InputError, match=r"no content digest.*lartpc_seg infer"),
        PredictionFile(path) as f,
    ):
        f.read()
