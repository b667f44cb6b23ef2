"""Where a command writes: never over its own inputs, never half a file, never owner-only.

Each case is what a hostile but fair user types: an output path that is an input (same path, a
``./`` spelling, an absolute spelling, a symlink), a directory, a read-only directory, a full
disk (a file-size limit, which fails writes with EFBIG as a full disk fails them with ENOSPC),
a missing input, and a job killed mid-write whose temporary the next run of the job removes.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from analysis.cli import main as analysis_main
from lartpc_seg.cli import main as lartpc_main


@pytest.fixture
def events(toy_file) -> Path:
    return toy_file("events.root", 3, seed=4)


def _spellings(events: Path) -> dict[str, str]:
    """Ways to name ``events`` from inside its folder (the test runs there)."""
    link = events.with_name("link.root")
    link.symlink_to(events.name)
    return {
        "same-path": events.name,
        "dot-slash": f"./{events.name}",
        "absolute": str(events.resolve()),
        "symlink": link.name,
    }


@pytest.mark.parametrize("spelling", ["same-path", "dot-slash", "absolute", "symlink"])
def test_infer_refuses_to_write_over_its_events(spelling, events, tiny_model, monkeypatch, faults):
    """``infer --out`` naming the event file (in any spelling) leaves the event file intact."""
    monkeypatch.chdir(events.parent)
    original = events.read_bytes()
    out = _spellings(events)[spelling]
    faults.assert_refused(
        lartpc_main,
        faults.infer_argv(tiny_model, events.name, out),
        Path(out),
        words=r"is the input .*same file.*--out",
    )
    assert events.read_bytes() == original, "the event file was overwritten"
    assert faults.leftovers(events.parent) == []


def test_infer_refuses_to_write_over_its_model(events, tiny_model, faults):
    original = tiny_model.read_bytes()
    argv = faults.infer_argv(tiny_model, events, tiny_model)
    faults.assert_refused(lartpc_main, argv, tiny_model, words="is the input")
    assert tiny_model.read_bytes() == original


def test_display_refuses_to_write_over_its_event_file(events, faults):
    original = events.read_bytes()
    argv = ["display", str(events), "--event", "0", "--out", str(events)]
    faults.assert_refused(lartpc_main, argv, events, words="is the input")
    assert events.read_bytes() == original


def test_michel_calibration_refuses_to_write_over_its_events(events, faults):
    original = events.read_bytes()
    argv = ["michel-calibration", "--events", str(events), "--out", f"./{os.path.relpath(events)}"]
    faults.assert_refused(analysis_main, argv, None, words="is the input .*--out")
    assert events.read_bytes() == original


@pytest.mark.parametrize("umask", [0o022, 0o007, 0o077])
def test_outputs_respect_the_umask(umask, events, tiny_model, tmp_path, faults):
    """Files are created with mode 0o666 less the umask, like any program's (not 0o600)."""
    previous = os.umask(umask)
    try:
        sim = tmp_path / "sim.root"
        preds = tmp_path / "preds.root"
        assert lartpc_main(faults.simulate_argv(sim)) == 0
        outcome = faults.run_in_process(
            lartpc_main,
            faults.infer_argv(tiny_model, events, preds),
        )
        assert outcome.status == 0, outcome.stderr
    finally:
        os.umask(previous)
    for path in (sim, preds):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, f"{path}: {oct(path.stat().st_mode)}"


def test_output_path_that_is_a_directory(tmp_path, faults):
    folder = tmp_path / "out.root"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    faults.assert_refused(lartpc_main, faults.simulate_argv(folder), folder, words="is a directory")
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_output_under_a_file_is_refused_before_running(events, tiny_model, faults):
    out = events / "preds.root"
    argv = faults.infer_argv(tiny_model, events, out)
    faults.assert_refused(lartpc_main, argv, out, words="is a file, not a directory")


def _reading_missing(faults, missing: Path, model: Path, events: Path, out: Path) -> dict:
    """case → command line reading the file ``missing``, which does not exist."""
    return {
        "infer-events": faults.infer_argv(model, missing, out),
        "infer-model": faults.infer_argv(missing, events, out),
        "validate": ["validate", str(missing)],
        "display": ["display", str(missing), "--event", "0", "--out", f"{out}.png"],
        "train": faults.train_argv(missing, events, out, labels="label", model=None),
        "import-larcv": ["import-larcv", str(missing), "--out", f"{out}.root"],
    }


@pytest.mark.parametrize(
    "case", ["infer-events", "infer-model", "validate", "display", "train", "import-larcv"]
)
def test_missing_input_is_named(case, events, tiny_model, tmp_path, faults):
    missing = tmp_path / "no_such_file.root"
    argv = _reading_missing(faults, missing, tiny_model, events, tmp_path / "o")[case]
    stream = "stdout" if case == "validate" else "stderr"
    faults.assert_refused(lartpc_main, argv, missing, words="no such", stream=stream)


def _read_only_run(folder: Path, argv: list[str], faults) -> subprocess.CompletedProcess:
    """Run ``python -m argv`` with ``folder`` read-only for it.

    Root writes into any directory whatever its mode, so as root the folder is bind-mounted
    read-only in a private mount namespace (a read-only file system, as a write-protected
    group disk); otherwise its mode is set to 0o555.
    """
    env = {**os.environ, "PYTHONPATH": str(faults.REPO), "OMP_NUM_THREADS": "1"}
    command = [faults.PYTHON, "-m", *argv]
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        finally:
            folder.chmod(0o755)
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("running as root without `unshare`: no directory is read-only to root")
    probe = subprocess.run([unshare, "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("running as root without mount namespaces: no directory is read-only to root")
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return subprocess.run(
        [unshare, "-m", "sh", "-c", script, "sh", str(folder), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_read_only_output_directory_is_refused_before_running(events, tiny_model, tmp_path, faults):
    folder = tmp_path / "shared"
    folder.mkdir()
    out = folder / "preds.root"
    done = _read_only_run(
        folder,
        [
            "lartpc_seg",
            "infer",
            "--model",
            str(tiny_model),
            "--events",
            str(events),
            "--out",
            str(out),
        ],
        faults,
    )
    outcome = faults.Outcome(done.returncode, done.stdout, done.stderr)
    faults.assert_user_error(outcome, out, words=f"{folder} is read-only.*--out")
    assert not out.exists()


def _limited(limit_bytes: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return apply


@pytest.mark.slow
@pytest.mark.parametrize("command", ["simulate", "infer", "train"])
def test_full_disk_is_one_line_and_leaves_nothing(command, events, tiny_model, tmp_path, faults):
    """A write failing with EFBIG (the file-size limit) is reported as the disk being full is."""
    out = tmp_path / "out"
    options = {"iterations": 2, "batch_size": 1, "checkpoint_every": 1, "val_events": 1}
    argv = {
        "simulate": faults.simulate_argv(out / "x.root", events=6, grid=64),
        "infer": faults.infer_argv(tiny_model, events, out / "x.root"),
        "train": faults.train_argv(events, events, out, options=options),
    }[command]
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(faults.REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [faults.PYTHON, "-m", "lartpc_seg", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limited(20_000),
    )
    outcome = faults.Outcome(done.returncode, done.stdout, done.stderr)
    line = faults.assert_user_error(outcome, None, words="file too large.*rerun")
    assert str(out) in line, f"the file is not named: {line}"
    assert faults.leftovers(out) == []
    assert not (out / "x.root").exists() and not (out / "model.pt").exists()


@pytest.mark.slow
def test_killed_simulate_leaves_no_temporary_after_the_next_run(tmp_path, faults):
    """SIGKILL while the event file is being written; the rerun of the job removes its temporary."""
    out = tmp_path / "data" / "0.root"
    argv = [
        faults.PYTHON,
        "-m",
        "lartpc_seg",
        "simulate",
        "--events",
        "400",
        "--seed",
        "1",
        "--grid",
        "64",
        "--out",
        str(out),
    ]
    env = {**os.environ, "PYTHONPATH": str(faults.REPO), "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not faults.leftovers(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    stranded = faults.leftovers(tmp_path)
    assert stranded, "the kill did not land during the write"
    assert not out.exists()

    rerun = subprocess.run(
        [*argv[:5], "3", *argv[6:]], env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    assert faults.leftovers(tmp_path) == [], "the killed job's temporary is still there"
    assert out.exists()


@pytest.mark.parametrize("command", ["simulate", "benchmark"])
def test_an_earlier_output_is_replaced_not_taken_for_an_input(command, tmp_path, faults):
    """Rerunning a command over its own earlier output is the normal case, and is allowed."""
    out = tmp_path / ("sim.root" if command == "simulate" else "figures.json")
    out.write_text("an earlier result")
    argv = {
        "simulate": ["simulate", "--events", "1", "--seed", "1", "--grid", "32"],
        "benchmark": ["benchmark", "simulate", "--events", "1", "--grid", "32", "--repeats", "1"],
    }[command]
    outcome = faults.run_in_process(lartpc_main, [*argv, "--out", str(out)])
    assert outcome.status == 0, outcome.stderr
    assert out.read_bytes() != b"an earlier result"
