"""Resuming a training: never losing a checkpoint, never continuing one that does not belong.

A checkpoint that does not continue the requested training (other data, options, model or code)
is set aside under a new number and training starts from scratch; the same data named by another
path resumes. Models without their configuration, or of another size, are refused by ``infer``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from lartpc_seg.cli import main as lartpc_main

OPTIONS = {"iterations": 4, "batch_size": 2, "checkpoint_every": 2, "log_every": 2, "val_events": 2}


def _train(faults, train: str, val: str, workdir: Path, **options) -> object:
    argv = faults.train_argv(train, val, workdir, seed=1, options={**OPTIONS, **options})
    return faults.run_in_process(lartpc_main, argv)


@pytest.fixture
def data(toy_file) -> tuple[Path, Path]:
    return toy_file("train.root", 4, seed=1), toy_file("val.root", 2, seed=2)


def _checkpoint(workdir: Path) -> Path:
    return workdir / "checkpoints" / "last.pt"


def test_every_set_aside_checkpoint_is_kept(data, tmp_path, faults):
    """Two changes of setup in a row: both earlier checkpoints stay, numbered, unchanged."""
    train, val = map(str, data)
    work = tmp_path / "work"
    kept = []
    for lr in (1e-3, 2e-3, 3e-3):
        outcome = _train(faults, train, val, work, lr=lr)
        assert outcome.status == 0, outcome.stderr
        kept.append(_checkpoint(work).read_bytes())
    stale = sorted((work / "checkpoints").glob("last.stale-*.pt"))
    assert [p.name for p in stale] == ["last.stale-1.pt", "last.stale-2.pt"]
    assert [p.read_bytes() for p in stale] == kept[:2]
    assert "other options" in outcome.stdout


def test_same_data_by_another_path_resumes(data, tmp_path, faults, monkeypatch):
    """``./train.root`` and the absolute path are the same data: the training continues."""
    train, val = data
    work = tmp_path / "work"
    assert _train(faults, str(train), str(val), work, iterations=2).status == 0
    monkeypatch.chdir(train.parent)
    outcome = _train(faults, f"./{train.name}", f"./{val.name}", work)
    assert outcome.status == 0, outcome.stderr
    assert f"resumed from {_checkpoint(work)} at iteration 2" in outcome.stdout
    assert list((work / "checkpoints").glob("last.stale-*")) == []


def test_changed_data_with_the_same_path_restarts(data, toy_file, tmp_path, faults):
    train, val = data
    work = tmp_path / "work"
    assert _train(faults, str(train), str(val), work, iterations=2).status == 0
    toy_file("train.root", 4, seed=9)  # other events under the same name
    outcome = _train(faults, str(train), str(val), work)
    assert outcome.status == 0, outcome.stderr
    assert "other training data" in outcome.stdout
    assert "resumed" not in outcome.stdout


def _as_if_written_by_other_code(checkpoint: Path) -> None:
    state = torch.load(checkpoint, weights_only=True)
    state["code_version"] = "0.0.1+gdeadbeef"
    state["code_sha256"] = "0" * 64
    torch.save(state, checkpoint)


def test_checkpoint_of_other_code_is_not_resumed(data, tmp_path, faults):
    """After a code change, deleting ``model.pt`` retrains rather than relabelling old weights."""
    train, val = map(str, data)
    work = tmp_path / "work"
    assert _train(faults, train, val, work).status == 0
    old = torch.load(work / "model.pt", weights_only=True)
    _as_if_written_by_other_code(_checkpoint(work))
    (work / "model.pt").unlink()
    outcome = _train(faults, train, val, work)
    assert outcome.status == 0, outcome.stderr
    assert "written by code 0.0.1+gdeadbeef" in outcome.stdout
    assert "resumed" not in outcome.stdout
    assert "iteration 4/4" in outcome.stdout, "no training step was run"
    new = torch.load(work / "model.pt", weights_only=True)
    assert new["code_sha256"] == old["code_sha256"] != "0" * 64
    for name in old["model"]:  # retrained from scratch under the same seed: the same weights
        assert torch.equal(new["model"][name], old["model"][name]), name
    assert (work / "checkpoints" / "last.stale-1.pt").exists()


def _model_file(faults, path: Path, change) -> Path:
    faults.tiny_model_file(path)
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)
    return path


@pytest.mark.parametrize(
    "case,field,words",
    [
        ("no-model-config", "model_config", "records no model configuration"),
        ("other-size", "model", "do not fit the network .*another model size"),
        ("bad-model-config", "model_config", "bad model configuration"),
    ],
)
def test_infer_refuses_a_model_it_cannot_build(case, field, words, toy_file, tmp_path, faults):
    changes = {
        "no-model-config": lambda s: s.pop("model_config"),
        "other-size": lambda s: s["model_config"].update(filters=8),
        "bad-model-config": lambda s: s["model_config"].update(widht=3),
    }
    model = _model_file(faults, tmp_path / "model.pt", changes[case])
    events = toy_file("events.root", 2)
    out = tmp_path / "preds.root"
    outcome = faults.run_in_process(lartpc_main, faults.infer_argv(model, events, out))
    faults.assert_user_error(outcome, model, field=field, words=words)
    assert not out.exists()


def test_resume_refuses_weights_that_do_not_fit(data, tmp_path, faults):
    """A checkpoint whose weights are of another size than its (matching) setup says."""
    train, val = map(str, data)
    work = tmp_path / "work"
    assert _train(faults, train, val, work, iterations=2).status == 0
    checkpoint = _checkpoint(work)
    state = torch.load(checkpoint, weights_only=True)
    name = next(k for k, v in state["model"].items() if v.ndim > 1)
    state["model"][name] = torch.zeros(3, 3)
    torch.save(state, checkpoint)
    damaged = checkpoint.read_bytes()
    outcome = _train(faults, train, val, work)
    faults.assert_user_error(outcome, checkpoint, field="model", words="do not fit")
    assert checkpoint.read_bytes() == damaged
    assert sorted(os.listdir(work / "checkpoints")) == ["last.pt", "log.csv"]


def test_source_digest_covers_python_and_compiled_sources(tmp_path, monkeypatch):
    """An edit of the compiled engine's C++ alone changes the digest that gates resuming."""
    import lartpc_seg.version as version

    package = tmp_path / "lartpc_seg"
    (package / "sparse" / "csrc").mkdir(parents=True)
    (package / "version.py").write_text("")
    (package / "sparse" / "csrc" / "engine.cpp").write_text("int f() { return 1; }\n")
    (package / "notes.md").write_text("docs do not count\n")
    monkeypatch.setattr(version, "__file__", str(package / "version.py"))

    def digest() -> str:
        version.source_digest.cache_clear()
        return version.source_digest()

    before = digest()
    (package / "notes.md").write_text("edited\n")
    assert digest() == before
    (package / "sparse" / "csrc" / "engine.cpp").write_text("int f() { return 2; }\n")
    changed = digest()
    assert changed != before
    (package / "version.py").write_text("# edited\n")
    assert digest() != changed
    version.source_digest.cache_clear()
