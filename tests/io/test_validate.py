"""``validate``: every broken file is rejected with a message naming the problem."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from lartpc_seg.cli import main
from lartpc_seg.io.events import (
    EVENT_BRANCHES,
    Event,
    FileMeta,
    ParticleTable,
    file_problems,
    write_events,
)
from lartpc_seg.labels import Label

GRID = 16


def _particles(n: int) -> ParticleTable:
    return ParticleTable(
        pdg=np.full(n, 13, np.int32),
        parent=np.concatenate([[-1], np.zeros(n - 1, np.int32)]).astype(np.int32),
        process=np.zeros(n, np.int8),
        cls=np.full(n, Label.MIP, np.int8),
        ke=np.full(n, 100.0, np.float32),
        start=np.zeros((n, 3), np.float32),
        end=np.ones((n, 3), np.float32),
        edep=np.ones(n, np.float32),
    )


def _event(number: int, n: int) -> Event:
    coords = np.zeros((n, 3), np.int32)
    coords[:, 0] = np.arange(n)
    coords[:, 1] = number % GRID
    labels = np.full(n, Label.MIP, np.int8)
    return Event(
        event=number,
        coords=coords,
        energy=np.linspace(0.5, 1.5, n).astype(np.float32),
        label=labels,
        relabel=labels.copy(),
        part=(np.arange(n) % 2).astype(np.int32),
        particles=_particles(2),
    )


def good_events() -> list[Event]:
    return [_event(10, 5), _event(11, 0), _event(12, 7)]


def _write(path: Path, events: list[Event]) -> Path:
    write_events(path, events, FileMeta(grid=GRID))
    return path


def _write_raw(path: Path, columns: dict[str, object], tree: str = "events") -> Path:
    """Write columns as they are: jagged ones get their own counters ``n_<name>``."""
    types = {
        k: (v.type.content if isinstance(v, ak.Array) else v.dtype) for k, v in columns.items()
    }
    with uproot.recreate(path) as file:
        t = file.mktree(tree, types, counter_name=lambda counted: f"n_{counted}")
        t.extend(columns)
        FileMeta(grid=GRID).write(file)
    return path


def _columns(tmp_path: Path) -> dict[str, object]:
    good = _write(tmp_path / "good.root", good_events())
    with uproot.open(good) as f:
        arrays = f["events"].arrays(list(EVENT_BRANCHES))
    return {
        k: (arrays[k] if arrays[k].ndim > 1 else ak.to_numpy(arrays[k])) for k in EVENT_BRANCHES
    }


def _only(problems, field=None, event=None, text=""):
    assert len(problems) >= 1, "the file was accepted"
    matching = [
        p
        for p in problems
        if (field is None or p.field == field)
        and (event is None or p.event == event)
        and text in p.message
    ]
    assert matching, f"no problem with field={field} event={event} '{text}' in {problems}"
    return matching[0]


def _modified(tmp_path: Path, attr: str, index: int, value) -> Path:
    events = good_events()
    array = getattr(events[2], attr).copy()
    array[index] = value
    setattr(events[2], attr, array)
    return _write(tmp_path / f"bad_{attr}.root", events)


def test_good_file_with_an_empty_event_is_valid(tmp_path):
    assert file_problems(_write(tmp_path / "good.root", good_events())) == []


def test_file_of_only_empty_events_is_valid(tmp_path):
    events = [_event(1, 0), _event(2, 0)]
    assert file_problems(_write(tmp_path / "empty_events.root", events)) == []


def test_missing_branch(tmp_path):
    columns = _columns(tmp_path)
    del columns["vox_relabel"]
    path = _write_raw(tmp_path / "missing.root", columns)
    _only(file_problems(path), field="vox_relabel", text="missing branch")


def test_mistyped_branch(tmp_path):
    columns = _columns(tmp_path)
    columns["vox_e"] = ak.values_astype(columns["vox_e"], np.float64)
    path = _write_raw(tmp_path / "float64.root", columns)
    p = _only(file_problems(path), field="vox_e", text="float64")
    assert "float32" in p.message


@pytest.mark.parametrize(("axis", "value"), [("x", GRID), ("y", -1), ("z", GRID + 5)])
def test_voxel_outside_the_grid(tmp_path, axis, value):
    events = good_events()
    events[2].coords = events[2].coords.copy()
    events[2].coords[3, "xyz".index(axis)] = value
    path = _write(tmp_path / "outside.root", events)
    p = _only(file_problems(path), field=f"vox_{axis}", event=12, text="outside the grid")
    assert "index 3" in p.message


@pytest.mark.parametrize("value", [0.0, -1.0])
def test_energy_not_positive(tmp_path, value):
    path = _modified(tmp_path, "energy", 4, value)
    p = _only(file_problems(path), field="vox_e", event=12, text="not positive")
    assert "index 4" in p.message


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_energy_nan_or_infinite(tmp_path, value):
    path = _modified(tmp_path, "energy", 1, value)
    _only(file_problems(path), field="vox_e", event=12, text="NaN or infinite")


def test_duplicate_voxel(tmp_path):
    events = good_events()
    events[2].coords = events[2].coords.copy()
    events[2].coords[6] = events[2].coords[2]
    path = _write(tmp_path / "dup.root", events)
    _only(file_problems(path), event=12, text="duplicate voxel")


@pytest.mark.parametrize(
    ("attr", "field", "value"), [("label", "vox_label", 5), ("relabel", "vox_relabel", -1)]
)
def test_label_out_of_range(tmp_path, attr, field, value):
    path = _modified(tmp_path, attr, 0, value)
    _only(file_problems(path), field=field, event=12, text="label outside 0..4")


@pytest.mark.parametrize("value", [2, -1])
def test_vox_part_out_of_range(tmp_path, value):
    path = _modified(tmp_path, "part", 5, value)
    _only(file_problems(path), field="vox_part", event=12, text="outside the particle table")


def test_parent_out_of_range(tmp_path):
    events = good_events()
    events[0].particles.parent = np.array([-1, 2], np.int32)
    path = _write(tmp_path / "parent.root", events)
    _only(file_problems(path), field="part_parent", event=10, text="outside the particle table")


def test_counter_disagrees_with_arrays(tmp_path):
    columns = _columns(tmp_path)
    columns["nvox"] = columns["nvox"].copy()
    columns["nvox"][2] += 1
    path = _write_raw(tmp_path / "nvox.root", columns)
    _only(file_problems(path), event=12, text="nvox = 8 but the arrays hold 7")


def test_voxel_arrays_of_different_lengths(tmp_path):
    columns = _columns(tmp_path)
    e = ak.to_list(columns["vox_e"])
    e[0] = e[0][:-1]
    columns["vox_e"] = ak.values_astype(ak.Array(e), np.float32)
    path = _write_raw(tmp_path / "lengths.root", columns)
    _only(file_problems(path), field="vox_e", event=10, text="nvox = 5 but the arrays hold 4")


def test_duplicate_event_number(tmp_path):
    events = good_events()
    events[1].event = 10
    path = _write(tmp_path / "dup_event.root", events)
    _only(file_problems(path), field="event", event=10, text="more than once")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "zero.root"
    path.write_bytes(b"")
    _only(file_problems(path), text="empty (0 bytes)")


def test_not_a_root_file(tmp_path):
    path = tmp_path / "text.root"
    path.write_text("event,x,y,z\n1,2,3,4\n")
    _only(file_problems(path), text="not a readable ROOT file")


def test_wrong_tree_name(tmp_path):
    columns = _columns(tmp_path)
    path = _write_raw(tmp_path / "tree.root", columns, tree="Events")
    p = _only(file_problems(path), text="no TTree 'events'")
    assert "Events" in p.message  # the message lists what the file holds


def test_missing_meta_tree(tmp_path):
    columns = _columns(tmp_path)
    path = tmp_path / "nometa.root"
    types = {
        k: (v.type.content if isinstance(v, ak.Array) else v.dtype) for k, v in columns.items()
    }
    with uproot.recreate(path) as file:
        file.mktree("events", types, counter_name=lambda c: f"n_{c}").extend(columns)
    _only(file_problems(path), field="meta", text="no TTree 'meta'")


def test_problems_of_every_event_are_listed(tmp_path):
    events = good_events()
    for e in (events[0], events[2]):
        e.energy = e.energy.copy()
        e.energy[0] = -2.0
    path = _write(tmp_path / "two.root", events)
    problems = file_problems(path)
    assert sorted(p.event for p in problems if p.field == "vox_e") == [10, 12]


def test_flat_voxel_branch_is_an_input_error(tmp_path):
    columns = _columns(tmp_path)
    columns["vox_e"] = np.ones(3, np.float32)
    path = _write_raw(tmp_path / "flat.root", columns)
    _only(file_problems(path), field="vox_e", text="")


def test_truncated_file_is_an_input_error(tmp_path):
    good = _write(tmp_path / "good.root", good_events())
    path = tmp_path / "truncated.root"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert file_problems(path)


def test_command_line_lists_problems_and_exits_1(tmp_path, capsys):
    good = _write(tmp_path / "good.root", good_events())
    bad = _modified(tmp_path, "energy", 4, -1.0)
    zero = tmp_path / "zero.root"
    zero.write_bytes(b"")
    assert main(["validate", str(good)]) == 0
    assert capsys.readouterr().out.strip() == f"{good}: OK (3 events)"
    assert main(["validate", str(good), str(bad), str(zero)]) == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == f"{good}: OK (3 events)"
    assert lines[1].startswith(f"{bad}, event 12, field 'vox_e': energy is not positive")
    assert lines[2] == f"{zero}: the file is empty (0 bytes)"
    assert len(lines) == 3
