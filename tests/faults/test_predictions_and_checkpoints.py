"""Predictions that do not belong to their event file, and checkpoints that cannot be read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.cli import main as analysis_main
from lartpc_seg.cli import main as lartpc_main
from lartpc_seg.io.events import EventFile, FileMeta
from lartpc_seg.io.predictions import Prediction, write_predictions

OPTIONS = {
    "iterations": 4,
    "batch_size": 2,
    "validate_every": 2,
    "checkpoint_every": 2,
    "log_every": 1,
    "val_events": 2,
}


def _write_predictions(path: Path, numbers: list[int], counts: list[int]) -> Path:
    preds = []
    for number, n in zip(numbers, counts, strict=True):
        scores = np.full((n, 5), 0.2, np.float32)
        preds.append(Prediction(number, np.zeros(n, np.int8), scores))
    write_predictions(path, preds, FileMeta(grid=32))
    return path


@pytest.fixture
def events(toy_file) -> tuple[Path, list[int], list[int]]:
    """A toy event file of 4 events: its path, event numbers and voxel counts."""
    path = toy_file("events.root", 4, seed=2)
    with EventFile(path) as f:
        block = f.read()
    return path, [e.event for e in block], [len(e) for e in block]


def _mismatches(numbers: list[int], counts: list[int]) -> dict[str, tuple]:
    """name → (event numbers, voxel counts, event named, field named, words)."""
    swapped = [numbers[0], numbers[2], numbers[1], numbers[3]]
    more = list(counts)
    more[2] += 3
    return {
        "different-event-list": (swapped, counts, numbers[2], "event", "not aligned"),
        "renumbered": ([n + 10 for n in numbers], counts, numbers[0] + 10, "event", "not aligned"),
        "fewer-events": (numbers[:3], counts[:3], None, "event", r"3 events.*has 4"),
        "voxel-count-differs": (numbers, more, numbers[2], "nvox", r"\d+ voxels, but"),
    }


CASES = ["different-event-list", "renumbered", "fewer-events", "voxel-count-differs"]


@pytest.mark.parametrize("command", ["accuracy", "michel"])
@pytest.mark.parametrize("case", CASES)
def test_predictions_of_another_event_file_are_refused(case, command, events, tmp_path, faults):
    path, numbers, counts = events
    got_numbers, got_counts, event, field, words = _mismatches(numbers, counts)[case]
    preds = _write_predictions(tmp_path / "preds.root", got_numbers, got_counts)
    out = tmp_path / "out"
    argv = {
        "accuracy": faults.accuracy_argv(path, preds, out / "a"),
        "michel": faults.michel_argv(path, out / "m", predictions=preds),
    }[command]
    outcome = faults.run_in_process(analysis_main, argv)
    faults.assert_user_error(outcome, preds, event=event, field=field, words=words)
    assert str(path) in outcome.stderr, "the message must name the event file too"
    assert not out.exists() or not any(out.rglob("*")), f"{command} left output behind"


def _corruptions(model: Path) -> dict[str, bytes]:
    data = model.read_bytes()
    return {
        "truncated": data[: len(data) // 2],
        "zero-byte": b"",
        "garbage": bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)),
        "text": b"model: not really\n",
    }


@pytest.mark.parametrize("kind", ["truncated", "zero-byte", "garbage", "text"])
def test_corrupt_model_is_refused_by_infer(kind, toy_file, tiny_model, tmp_path, faults):
    events = toy_file("events.root", 2)
    tiny_model.write_bytes(_corruptions(tiny_model)[kind])
    out = tmp_path / "preds.root"
    argv = faults.infer_argv(tiny_model, events, out)
    faults.assert_refused(lartpc_main, argv, tiny_model, words="corrupt|not a .*checkpoint")
    assert not out.exists()
    assert faults.leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["truncated", "zero-byte", "garbage"])
def test_corrupt_checkpoint_is_refused_never_restarted(
    kind, toy_file, tiny_model, tmp_path, faults
):
    """Training over an unreadable ``last.pt`` stops with its name; it does not start afresh."""
    events = toy_file("events.root", 4)
    workdir = tmp_path / "work"
    checkpoint = workdir / "checkpoints" / "last.pt"
    checkpoint.parent.mkdir(parents=True)
    damaged = _corruptions(tiny_model)[kind]
    checkpoint.write_bytes(damaged)
    argv = faults.train_argv(events, events, workdir, options=OPTIONS)
    faults.assert_refused(lartpc_main, argv, checkpoint, words="corrupt|not a .*checkpoint")
    assert checkpoint.read_bytes() == damaged, "the damaged checkpoint was overwritten"
    assert not (workdir / "model.pt").exists()
    assert sorted(p.name for p in workdir.rglob("*")) == ["checkpoints", "last.pt"]


def _rewritten(source: Path, target: Path, change) -> Path:
    """``source``'s events with ``change(event, rng)`` applied to each, under the same meta."""
    from lartpc_seg.io.events import write_events

    rng = np.random.default_rng(7)
    with EventFile(source) as f:
        meta, block = f.meta, f.read()
    write_events(target, (change(e, rng) for e in block), meta)
    return target


def _permute_voxels(event, rng):
    order = rng.permutation(len(event))
    for name in ("coords", "energy", "label", "relabel", "part"):
        setattr(event, name, getattr(event, name)[order])
    return event


def _scale_energy(event, rng):
    event.energy = (event.energy * 1.5).astype(np.float32)
    return event


SAME_COUNT = {"permuted-voxels": _permute_voxels, "other-energies": _scale_energy}


@pytest.mark.parametrize("command", ["accuracy", "accuracy-by-energy", "michel"])
@pytest.mark.parametrize("case", list(SAME_COUNT))
def test_predictions_of_other_events_with_the_same_counts_are_refused(
    case, command, toy_file, tiny_model, tmp_path, faults
):
    """Same event numbers, same voxel counts, other contents: the recorded digest tells."""
    original = toy_file("events.root", 4, seed=3)
    preds = tmp_path / "preds.root"
    done = faults.run_in_process(lartpc_main, faults.infer_argv(tiny_model, original, preds))
    assert done.status == 0, done.stderr
    events = _rewritten(original, tmp_path / "events_now.root", SAME_COUNT[case])
    with EventFile(events) as now, EventFile(original) as then:
        assert [len(e) for e in now.read()] == [len(e) for e in then.read()]
    out = tmp_path / "out"
    argv = {
        "accuracy": faults.accuracy_argv(events, preds, out / "a"),
        "accuracy-by-energy": [
            *("accuracy-by-energy", "--events", str(events), "--class", "michel"),
            *("--predictions", f"v={preds}", "--column", "k=v:relabel", "--out", str(out / "e")),
        ],
        "michel": faults.michel_argv(events, out / "m", predictions=preds),
    }[command]
    faults.assert_refused(
        analysis_main,
        argv,
        preds,
        field="events_sha256",
        words=f"made from other contents than {events}",
    )
    assert not out.exists() or not any(out.rglob("*")), f"{command} left output behind"


def test_predictions_of_the_same_events_still_pass(toy_file, tiny_model, tmp_path, faults):
    """The digest check refuses only mismatches: the file the predictions were made from passes."""
    events = toy_file("events.root", 4, seed=3)
    preds = tmp_path / "preds.root"
    done = faults.run_in_process(lartpc_main, faults.infer_argv(tiny_model, events, preds))
    assert done.status == 0, done.stderr
    outcome = faults.run_in_process(
        analysis_main, faults.accuracy_argv(events, preds, tmp_path / "a")
    )
    assert outcome.status == 0, outcome.stderr
    assert (tmp_path / "a.json").exists()
