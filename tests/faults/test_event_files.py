"""Damaged event files through every command that reads one.

Each fault is written once; every command must refuse it with exit status 1, one line naming
the file (and the event number and branch when the fault is in one), no traceback, and no
output file. The content faults sit in entry 1 (event number 101: numbers start at 100 so an
entry index is never mistaken for an event number); ``display`` draws that entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from analysis.cli import main as analysis_main
from lartpc_seg.cli import main as lartpc_main
from lartpc_seg.io.events import Event, EventFile, FileMeta, ParticleTable, write_events
from lartpc_seg.io.predictions import Prediction, write_predictions
from lartpc_seg.labels import Label

GRID = 32
FIRST = 100  # number of the first event


@dataclass(frozen=True)
class Fault:
    """One way an event file can be wrong, and what the refusal must name."""

    name: str
    make: Callable  # (columns, path, faults) -> None, writes the damaged file to path
    field: str | None
    event: int | None
    words: str


def _columns_fault(change: Callable[[dict, object], None]) -> Callable:
    def make(columns: dict, path: Path, faults) -> None:
        change(columns, faults)
        faults.write_columns(path, columns, grid=GRID)

    return make


def _raw(data: bytes) -> Callable:
    def make(columns: dict, path: Path, faults) -> None:
        path.write_bytes(data)

    return make


def _truncated(columns: dict, path: Path, faults) -> None:
    faults.write_columns(path, columns, grid=GRID)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])


def _wrong_tree(columns: dict, path: Path, faults) -> None:
    faults.write_columns(path, columns, grid=GRID, tree="Events")


def _drop(branch: str) -> Callable:
    return _columns_fault(lambda c, f: c.pop(branch))


def _retype(branch: str, dtype: type) -> Callable:
    def change(c: dict, f) -> None:
        c[branch] = ak.values_astype(c[branch], dtype)

    return _columns_fault(change)


def _nvox_plus_one(c: dict, f) -> None:
    c["nvox"] = c["nvox"].copy()
    c["nvox"][1] += 1


def _short_energy(c: dict, f) -> None:
    e = ak.to_list(c["vox_e"])
    e[1] = e[1][:-1]
    c["vox_e"] = ak.values_astype(ak.Array(e), np.float32)


def _duplicate(c: dict, f) -> None:
    for axis in "xyz":
        first = int(c[f"vox_{axis}"][1][0])
        f.set_value(c, f"vox_{axis}", 1, 3, first)


def _no_digest(columns: dict, path: Path, faults) -> None:
    faults.write_columns(path, columns, grid=GRID, digest=False)


def _other_digest(columns: dict, path: Path, faults) -> None:
    faults.write_columns(path, columns, grid=GRID, digest="0123456789abcdef" * 4)


def _flipped_particle_energy(columns: dict, path: Path, faults) -> None:
    """The last bit of the first ``part_ke`` value flipped: a slightly other energy, all valid.

    The energies are made distinct first, so that their basket does not compress and is stored
    as it is read.
    """
    counts = ak.num(columns["part_ke"], axis=1)
    energies = np.random.default_rng(1).uniform(10, 100, int(ak.sum(counts))).astype(np.float32)
    columns["part_ke"] = ak.unflatten(energies, counts)
    faults.write_columns(path, columns, grid=GRID)
    ((start, _),) = faults.uncompressed_baskets(path, "events")["part_ke"]
    data = bytearray(path.read_bytes())
    data[start + 3] ^= 0x01  # big-endian float32: byte 3 holds the lowest bits of the mantissa
    path.write_bytes(bytes(data))


FAULTS = [
    Fault("zero-byte", _raw(b""), None, None, r"empty \(0 bytes\)"),
    Fault(
        "not-root", _raw(b"event,x,y,z,e\n0,1,2,3,0.5\n" * 50), None, None, "not a readable ROOT"
    ),
    Fault("truncated", _truncated, None, None, r"not a readable ROOT|cannot read"),
    Fault("wrong-tree", _wrong_tree, None, None, r"no TTree 'events'.*found: Events"),
    Fault("missing-branch", _drop("vox_e"), "vox_e", None, "missing branch"),
    Fault(
        "mistyped-branch",
        _retype("vox_e", np.float64),
        "vox_e",
        None,
        r"type var \* float64.*var \* float32",
    ),
    Fault(
        "mistyped-counter",
        _columns_fault(lambda c, f: c.update(nvox=c["nvox"].astype(np.float32))),
        "nvox",
        None,
        "type float32",
    ),
    Fault(
        "counter-disagrees",
        _columns_fault(_nvox_plus_one),
        "vox_x",
        FIRST + 1,
        r"nvox = \d+ but the arrays hold \d+",
    ),
    Fault(
        "array-lengths-disagree",
        _columns_fault(_short_energy),
        "vox_e",
        FIRST + 1,
        r"nvox = \d+ but the arrays hold \d+",
    ),
    Fault(
        "voxel-outside-grid",
        _columns_fault(lambda c, f: f.set_value(c, "vox_y", 1, 2, GRID)),
        "vox_y",
        FIRST + 1,
        r"outside the grid 0\.\.31.*value 32",
    ),
    Fault(
        "negative-voxel-index",
        _columns_fault(lambda c, f: f.set_value(c, "vox_z", 1, 0, -1)),
        "vox_z",
        FIRST + 1,
        r"outside the grid.*value -1",
    ),
    Fault(
        "nan-energy",
        _columns_fault(lambda c, f: f.set_value(c, "vox_e", 1, 4, np.nan)),
        "vox_e",
        FIRST + 1,
        "NaN",
    ),
    Fault(
        "negative-energy",
        _columns_fault(lambda c, f: f.set_value(c, "vox_e", 1, 0, -0.5)),
        "vox_e",
        FIRST + 1,
        r"not positive.*-0\.5",
    ),
    Fault("duplicate-voxel", _columns_fault(_duplicate), "vox_x", FIRST + 1, "duplicate voxel"),
    Fault(
        "label-out-of-range",
        _columns_fault(lambda c, f: f.set_value(c, "vox_label", 1, 1, 7)),
        "vox_label",
        FIRST + 1,
        r"label outside 0\.\.4.*value 7",
    ),
    Fault(
        "relabel-negative",
        _columns_fault(lambda c, f: f.set_value(c, "vox_relabel", 1, 1, -1)),
        "vox_relabel",
        FIRST + 1,
        r"label outside 0\.\.4.*value -1",
    ),
    Fault(
        "particle-index-out-of-range",
        _columns_fault(lambda c, f: f.set_value(c, "vox_part", 1, 0, 9)),
        "vox_part",
        FIRST + 1,
        "outside the particle table",
    ),
    Fault(
        "no-content-digest",
        _no_digest,
        "meta.content_sha256",
        None,
        r"no content digest.*simulate --like .*bad\.root --out",
    ),
    Fault(
        "other-content-digest",
        _other_digest,
        "meta.content_sha256",
        None,
        "content does not match its digest.*damaged",
    ),
    Fault(
        "flipped-bit-in-uncompressed-basket",
        _flipped_particle_energy,
        "meta.content_sha256",
        None,
        "content does not match its digest.*damaged",
    ),
]


def hand_event(number: int) -> Event:
    """A MIP track along x from (4, 10, 10) with a Michel blob at its end: 24 + 8 voxels."""
    track = np.stack([np.arange(4, 28), np.full(24, 10), np.full(24, 10)], axis=1)
    blob = np.array([[28 + i % 2, 10 + i // 2 % 2, 10 + i // 4] for i in range(8)])
    coords = np.concatenate([track, blob]).astype(np.int32)
    label = np.array([Label.MIP] * 24 + [Label.MICHEL] * 8, np.int8)
    return Event(
        event=number,
        coords=coords,
        energy=np.linspace(0.2, 2.0, len(coords)).astype(np.float32),
        label=label,
        relabel=label.copy(),
        part=(label == Label.MICHEL).astype(np.int32),
        particles=ParticleTable(
            pdg=np.array([13, -11], np.int32),
            parent=np.array([-1, 0], np.int32),
            process=np.array([0, 1], np.int8),
            cls=np.array([Label.MIP, Label.MICHEL], np.int8),
            ke=np.array([40.0, 30.0], np.float32),
            start=np.array([[4, 10, 10], [27, 10, 10]], np.float32),
            end=np.array([[27, 10, 10], [29, 11, 11]], np.float32),
            edep=np.array([8.0, 14.0], np.float32),
        ),
    )


@pytest.fixture
def good_events() -> list[Event]:
    """Three valid events numbered 100, 101, 102."""
    return [hand_event(FIRST + i) for i in range(3)]


@pytest.fixture(scope="module")
def shared(tmp_path_factory, faults) -> dict[str, Path]:
    """Files every case reads and none changes: a tiny model and predictions of good events."""
    folder = tmp_path_factory.mktemp("shared")
    return {
        "model": faults.tiny_model_file(folder / "model.pt"),
        "preds": _predictions_for([hand_event(FIRST + i) for i in range(3)], folder / "p.root"),
    }


def _predictions_for(events: list, path: Path) -> Path:
    """Predictions aligned with ``events`` (every voxel predicted MIP, score 1)."""
    preds = []
    for event in events:
        scores = np.zeros((len(event), 5), np.float32)
        scores[:, 1] = 1
        preds.append(Prediction(event.event, np.ones(len(event), np.int8), scores))
    write_predictions(path, preds, FileMeta(grid=GRID))
    return path


def _commands(faults, bad: Path, out: Path, model: Path, preds: Path) -> dict[str, tuple]:
    """command → (main, argv, outputs that must not exist, stream of the message)."""
    options = {
        "iterations": 2,
        "batch_size": 2,
        "validate_every": 2,
        "checkpoint_every": 2,
        "log_every": 1,
        "val_events": 2,
    }
    return {
        "validate": (lartpc_main, ["validate", str(bad)], [], "stdout"),
        "display": (
            lartpc_main,
            ["display", str(bad), "--event", "1", "--out", str(out / "d.png")],
            [out / "d.png"],
            "stderr",
        ),
        "infer": (
            lartpc_main,
            faults.infer_argv(model, bad, out / "p.root"),
            [out / "p.root"],
            "stderr",
        ),
        "train": (
            lartpc_main,
            faults.train_argv(bad, bad, out / "w", options=options),
            [out / "w" / "model.pt", out / "w" / "log.csv", out / "w" / "checkpoints" / "last.pt"],
            "stderr",
        ),
        "michel": (
            analysis_main,
            faults.michel_argv(bad, out / "m"),
            [out / "m"],
            "stderr",
        ),
        "dataset-summary": (
            analysis_main,
            ["dataset-summary", "--split", f"test={bad}", "--out", str(out / "s")],
            [out / "s.csv", out / "s.json"],
            "stderr",
        ),
        "accuracy": (
            analysis_main,
            faults.accuracy_argv(bad, preds, out / "a"),
            [out / "a.csv", out / "a.json"],
            "stderr",
        ),
    }


COMMANDS = ["validate", "display", "infer", "train", "michel", "dataset-summary", "accuracy"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_damaged_event_file_is_refused(fault, command, good_events, tmp_path, faults, shared):
    bad = tmp_path / "bad.root"
    fault.make(faults.event_columns(good_events), bad, faults)
    out = tmp_path / "out"
    main, argv, outputs, stream = _commands(faults, bad, out, shared["model"], shared["preds"])[
        command
    ]
    outcome = faults.run_in_process(main, argv)
    faults.assert_user_error(
        outcome, bad, event=fault.event, field=fault.field, words=fault.words, stream=stream
    )
    for path in outputs:
        assert not path.exists(), f"{command} left {path} after refusing its input"
    assert faults.leftovers(tmp_path) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_event_without_voxels_is_valid(command, good_events, tmp_path, faults, shared):
    """An event with no voxels (nothing deposited) is data, not an error: every command runs."""
    good_events[1].coords = good_events[1].coords[:0]
    for name in ("energy", "label", "relabel", "part"):
        setattr(good_events[1], name, getattr(good_events[1], name)[:0])
    path = tmp_path / "empty_event.root"
    write_events(path, good_events, FileMeta(grid=GRID))
    out = tmp_path / "out"
    preds = _predictions_for(good_events, tmp_path / "preds.root")
    main, argv, outputs, _ = _commands(faults, path, out, shared["model"], preds)[command]
    outcome = faults.run_in_process(main, argv)
    assert outcome.status == 0, outcome
    assert "error" not in outcome.stderr
    for output in outputs:
        assert output.exists(), f"{command} did not write {output}"
    if command == "validate":
        assert f"{path}: OK (3 events)" in outcome.stdout
    if command == "infer":
        with EventFile(path) as f:
            assert [len(e) for e in f.read()][1] == 0
