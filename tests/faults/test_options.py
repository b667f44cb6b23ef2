"""Bad option values: refused before any work, one line naming the option, non-zero exit.

Command-line numbers are checked by argparse types (:mod:`lartpc_seg.cli`); the training
options given as JSON (the config's ``train`` section) by :class:`TrainOptions`.
"""

from __future__ import annotations

import pytest

from analysis.cli import main as analysis_main
from lartpc_seg.cli import main as lartpc_main

#: name → (argv with {events}/{model}/{out} placeholders, option named, words of the message)
ARGV_CASES = {
    "infer-batch-size-0": (["infer", "--batch-size", "0"], "--batch-size", "at least 1"),
    "infer-threads-0": (["infer", "--threads", "0"], "--threads", "at least 1"),
    "infer-batch-size-text": (["infer", "--batch-size", "eight"], "--batch-size", "integer"),
    "simulate-events-0": (
        ["simulate", "--events", "0", "--seed", "1", "--out", "{out}"],
        "--events",
        "at least 1",
    ),
    "simulate-negative-seed": (
        ["simulate", "--events", "1", "--seed", "-5", "--out", "{out}"],
        "--seed",
        "0 or more",
    ),
    "train-negative-seed": (["train", "--seed", "-1"], "--seed", "0 or more"),
    "train-threads-0": (["train", "--threads", "0"], "--threads", "at least 1"),
    "train-class-weight-power-0": (
        ["train", "--class-weights", "--class-weight-power", "0"],
        "--class-weight-power",
        "greater than 0",
    ),
    "train-class-weight-power-nan": (
        ["train", "--class-weights", "--class-weight-power", "nan"],
        "--class-weight-power",
        "a number > 0",
    ),
}

INFER = ["--model", "{model}", "--events", "{events}", "--out", "{out}"]
TRAIN = [
    "--train",
    "{events}",
    "--val",
    "{events}",
    "--labels",
    "relabel",
    "--workdir",
    "{work}",
    "--model",
    '{{"filters": 4, "depth": 2, "reps": 1}}',
]


def _argv(argv: list[str], values: dict) -> list[str]:
    extra = {"infer": INFER, "train": TRAIN}.get(argv[0], [])
    return [a.format(**values) for a in [*argv, *extra]]


@pytest.mark.parametrize("case", list(ARGV_CASES))
def test_bad_command_line_value(case, toy_file, tiny_model, tmp_path, faults):
    argv, option, words = ARGV_CASES[case]
    values = {
        "events": toy_file("events.root", 2),
        "model": tiny_model,
        "out": tmp_path / "out.root",
        "work": tmp_path / "work",
    }
    outcome = faults.run_in_process(lartpc_main, _argv(argv, values))
    line = faults.assert_user_error(outcome, None, words=f"argument {option}.*{words}")
    assert len(outcome.stderr.strip().splitlines()) == 1, outcome.stderr
    assert "usage:" not in outcome.stderr
    assert line.startswith("error: ")
    assert not (tmp_path / "out.root").exists() and not (tmp_path / "work").exists()


def test_bad_bootstrap_count(toy_file, tmp_path, faults):
    events = toy_file("events.root", 2)
    argv = faults.accuracy_argv(events, events, tmp_path / "a", column=None, bootstrap=-1)
    faults.assert_refused(
        analysis_main, argv, None, words="argument --bootstrap: must be 0 or more"
    )


#: training option → (value, words of the message)
TRAIN_OPTION_CASES = {
    "log_every-0": ("log_every", 0, "'log_every' must be at least 1"),
    "iterations-0": ("iterations", 0, "'iterations' must be at least 1"),
    "batch_size-negative": ("batch_size", -2, "'batch_size' must be at least 1"),
    "negative-lr": ("lr", -1e-3, "'lr' must be a number > 0"),
    "zero-lr": ("lr", 0.0, "'lr' must be a number > 0"),
    "lr-as-string": ("lr", "1e-3", "'lr' must be a number, got the string '1e-3'"),
    "iterations-as-string": ("iterations", "10", "'iterations' must be an integer, got the string"),
    "checkpoint_every-float": ("checkpoint_every", 2.5, "'checkpoint_every' must be an integer"),
    "augment-as-string": ("augment", "yes", "'augment' must be true or false"),
}


@pytest.mark.parametrize("case", list(TRAIN_OPTION_CASES))
def test_bad_training_option(case, toy_file, tmp_path, faults):
    """The config's ``train`` section reaches ``train --options`` as JSON: each value is checked."""
    key, value, words = TRAIN_OPTION_CASES[case]
    events = toy_file("events.root", 2)
    work = tmp_path / "work"
    argv = faults.train_argv(events, events, work, options={"iterations": 2, key: value})
    faults.assert_refused(lartpc_main, argv, None, words=words)
    assert not work.exists(), "a refused training wrote something"
