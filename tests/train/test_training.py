"""Training end to end on toy events: the loss falls, checkpoints resume to the same weights."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
import torch

from lartpc_seg.cli import main
from lartpc_seg.errors import InputError
from lartpc_seg.models import UResNetConfig
from lartpc_seg.train.data import EventStore
from lartpc_seg.train.interrupts import TrainingInterrupted
from lartpc_seg.train.loop import Trainer
from lartpc_seg.train.setup import TrainOptions, TrainSetup, digest_files

TINY = UResNetConfig(filters=4, depth=2, reps=1)


def _setup(train, val, iterations, *, class_weights=False, class_weight_power=1.0, **options):
    opts = TrainOptions(
        iterations=iterations,
        batch_size=2,
        validate_every=iterations,
        checkpoint_every=2,
        log_every=1,
        **options,
    )
    return TrainSetup(
        train_files=[str(train)],
        val_files=[str(val)],
        labels="relabel",
        class_weights=class_weights,
        class_weight_power=class_weight_power,
        model=TINY,
        options=opts,
        seed=11,
        train_digests=digest_files([train]),
    )


def _run(setup, workdir):
    trainer = Trainer(setup, workdir, torch.device("cpu"))
    trainer.resume()
    trainer.fit(EventStore(setup.train_files, "relabel"), EventStore(setup.val_files, "relabel"))
    trainer.finish()
    return trainer


def _weights(trainer):
    return {k: v.clone() for k, v in trainer.model.state_dict().items()}


@pytest.mark.slow
def test_loss_falls(toy_file, tmp_path):
    setup = _setup(toy_file("train.root", 16, seed=1), toy_file("val.root", 4, seed=2), 40)
    setup.options.lr = 1e-2
    _run(setup, tmp_path / "run")
    log = np.genfromtxt(
        tmp_path / "run" / "log.csv", delimiter=",", names=True, dtype=None, encoding=None
    )
    train_loss = log["loss"][log["phase"] == "train"]
    assert train_loss[-5:].mean() < 0.7 * train_loss[:5].mean()
    assert (tmp_path / "run" / "model.pt").exists()


@pytest.mark.parametrize(
    "schedule", [{}, {"lr_schedule": "cosine", "warmup": 2}], ids=["constant", "cosine"]
)
def test_interrupted_run_resumes_to_the_same_weights(toy_file, tmp_path, monkeypatch, schedule):
    train, val = toy_file("train.root", 8, seed=1), toy_file("val.root", 2, seed=2)
    straight = _weights(_run(_setup(train, val, 6, **schedule), tmp_path / "straight"))

    setup = _setup(train, val, 6, **schedule)
    trainer = Trainer(setup, tmp_path / "killed", torch.device("cpu"))
    original_step = Trainer.step

    def step_then_signal(self, batch):
        out = original_step(self, batch)
        if self.iteration == 2:  # the step being taken is the 4th (iteration counts from 0)
            signal.raise_signal(signal.SIGTERM)
        return out

    monkeypatch.setattr(Trainer, "step", step_then_signal)
    with pytest.raises(TrainingInterrupted) as stopped:
        trainer.fit(EventStore([str(train)], "relabel"), EventStore([str(val)], "relabel"))
    assert stopped.value.iteration == 3
    monkeypatch.setattr(Trainer, "step", original_step)

    resumed = Trainer(setup, tmp_path / "killed", torch.device("cpu"))
    assert resumed.resume()
    assert resumed.iteration == 3
    resumed.fit(EventStore([str(train)], "relabel"), EventStore([str(val)], "relabel"))
    for name, value in _weights(resumed).items():
        torch.testing.assert_close(value, straight[name], rtol=0, atol=0, msg=name)
    # The log holds each iteration once, resumed or not.
    log = np.genfromtxt(
        tmp_path / "killed" / "checkpoints" / "log.csv",
        delimiter=",",
        names=True,
        dtype=None,
        encoding=None,
    )
    train_iters = log["iteration"][log["phase"] == "train"]
    assert list(train_iters) == [1, 2, 3, 4, 5, 6]


def test_same_seed_same_weights(toy_file, tmp_path):
    train, val = toy_file("train.root", 6, seed=1), toy_file("val.root", 2, seed=2)
    a = _weights(_run(_setup(train, val, 3), tmp_path / "a"))
    b = _weights(_run(_setup(train, val, 3), tmp_path / "b"))
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)


def test_corrupt_checkpoint_is_refused(toy_file, tmp_path):
    train, val = toy_file("train.root", 4, seed=1), toy_file("val.root", 2, seed=2)
    ckpt = tmp_path / "run" / "checkpoints" / "last.pt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"PK\x03\x04 this is not a checkpoint")
    trainer = Trainer(_setup(train, val, 2), tmp_path / "run", torch.device("cpu"))
    with pytest.raises(InputError, match="corrupt") as err:
        trainer.resume()
    assert str(ckpt) in str(err.value)
    assert ckpt.exists(), "a corrupt checkpoint is kept for the user to inspect"


def test_checkpoint_of_another_setup_is_set_aside(toy_file, tmp_path, capsys):
    train, val = toy_file("train.root", 4, seed=1), toy_file("val.root", 2, seed=2)
    _run(_setup(train, val, 2), tmp_path / "run")
    other = _setup(train, val, 2)
    other.options.lr = 5e-3
    trainer = Trainer(other, tmp_path / "run", torch.device("cpu"))
    assert not trainer.resume()
    assert "another setup" in capsys.readouterr().out
    assert (tmp_path / "run" / "checkpoints" / "last.stale-1.pt").exists()


def test_cosine_schedule_sets_the_rate_of_every_step(toy_file, tmp_path, monkeypatch):
    train, val = toy_file("train.root", 6, seed=1), toy_file("val.root", 2, seed=2)
    setup = _setup(train, val, 5, lr=1e-2, lr_schedule="cosine", warmup=2)
    rates = []
    original_step = torch.optim.Adam.step

    def recording_step(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return original_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording_step)
    _run(setup, tmp_path / "run")
    # warm-up 0.005, 0.01; then cosine over the 3 remaining steps: 1, (1 + cos(pi/3))/2, ...
    expected = [5e-3, 1e-2, 1e-2, 7.5e-3, 2.5e-3]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)


def test_a_decaying_schedule_ties_the_fingerprint_to_the_iterations(toy_file):
    train, val = toy_file("train.root", 2, seed=1), toy_file("val.root", 1, seed=2)
    constant = [_setup(train, val, n).fingerprint() for n in (4, 8)]
    cosine = [_setup(train, val, n, lr_schedule="cosine").fingerprint() for n in (4, 8)]
    assert constant[0] == constant[1], "a constant rate can be extended by raising iterations"
    assert cosine[0] != cosine[1], "a cosine schedule changes with the number of steps"


def test_class_weight_power_is_part_of_the_fingerprint_with_class_weights_only(toy_file):
    train, val = toy_file("train.root", 2, seed=1), toy_file("val.root", 1, seed=2)
    paper, half = (
        _setup(train, val, 4, class_weights=True, class_weight_power=p) for p in (1.0, 0.5)
    )
    assert paper.fingerprint() != half.fingerprint()
    unweighted = [_setup(train, val, 4, class_weight_power=p).fingerprint() for p in (1.0, 0.5)]
    assert unweighted[0] == unweighted[1], "without class weights the power changes nothing"
    for bad in (0.0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="class_weight_power must be"):
            _setup(train, val, 4, class_weights=True, class_weight_power=bad)


def test_checkpoint_of_another_class_weight_power_is_set_aside(toy_file, tmp_path, capsys):
    train, val = toy_file("train.root", 4, seed=1), toy_file("val.root", 2, seed=2)
    _run(_setup(train, val, 2, class_weights=True), tmp_path / "run")
    other = _setup(train, val, 2, class_weights=True, class_weight_power=0.5)
    assert not Trainer(other, tmp_path / "run", torch.device("cpu")).resume()
    assert "other class_weight_power" in capsys.readouterr().out


def test_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="lr_schedule 'linear'"):
        TrainOptions.from_dict({"lr_schedule": "linear"})
    with pytest.raises(ValueError, match="lr_schedule 'linear'"):
        TrainOptions(lr_schedule="linear")


def test_command_records_the_thread_count_it_ran_with(toy_file, tmp_path):
    """``--threads`` overrides the options' count, and the checkpoint says which was used."""
    train, val = toy_file("train.root", 4, seed=1), toy_file("val.root", 2, seed=2)
    options = {"iterations": 2, "batch_size": 2, "validate_every": 2, "threads": 1}
    before = torch.get_num_threads()
    try:
        code = main(
            [
                "train",
                "--train", str(train),
                "--val", str(val),
                "--labels", "relabel",
                "--model", json.dumps({"filters": 4, "depth": 2, "reps": 1}),
                "--options", json.dumps(options),
                "--threads", "2",
                "--workdir", str(tmp_path / "run"),
            ]
        )  # fmt: skip
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert code == 0
    state = torch.load(tmp_path / "run" / "model.pt", map_location="cpu", weights_only=False)
    assert state["options"]["threads"] == 2
