"""Training killed mid-run (SIGTERM, SIGKILL) resumes to the weights of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

ITERATIONS = 14
OPTIONS = {
    "iterations": ITERATIONS,
    "batch_size": 2,
    "validate_every": 7,
    "checkpoint_every": 2,
    "log_every": 2,
    "val_events": 2,
    "threads": 1,
}


def _train_argv(faults, train: Path, val: Path, workdir: Path, **options) -> list[str]:
    """``python -m lartpc_seg train`` with ``OPTIONS`` updated by ``options``."""
    train_argv = faults.train_argv(
        train, val, workdir, seed=3, threads=1, options={**OPTIONS, **options}
    )
    return [faults.PYTHON, "-m", "lartpc_seg", *train_argv]


def _env(faults) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(faults.REPO), "OMP_NUM_THREADS": "1"}


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


@pytest.fixture(scope="module")
def data(tmp_path_factory, faults) -> tuple[Path, Path]:
    """Train and validation files from the simulator (grid 32, a handful of events)."""
    from lartpc_seg.cli import main

    folder = tmp_path_factory.mktemp("signals")
    train, val = folder / "train.root", folder / "val.root"
    assert main(faults.simulate_argv(train, events=4)) == 0
    assert main(faults.simulate_argv(val, events=2, seed=2)) == 0
    return train, val


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory, faults) -> Path:
    """``model.pt`` of the uninterrupted run."""
    workdir = tmp_path_factory.mktemp("reference")
    done = subprocess.run(
        _train_argv(faults, *data, workdir),
        env=_env(faults),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return workdir / "model.pt"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killed_training_resumes_to_the_same_weights(signum, data, reference, tmp_path, faults):
    workdir = tmp_path / "work"
    checkpoint = workdir / "checkpoints" / "last.pt"
    process = subprocess.Popen(
        _train_argv(faults, *data, workdir),
        env=_env(faults),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=120)
    assert not (workdir / "model.pt").exists(), "the run finished before the signal arrived"
    if signum == signal.SIGTERM:
        assert process.returncode == 128 + signal.SIGTERM, stderr
        assert "Traceback" not in stderr
        assert "checkpoint written, rerun to resume" in stdout
    else:
        assert process.returncode == -signal.SIGKILL
    stopped_at = torch.load(checkpoint, weights_only=True)["iteration"]
    assert 0 < stopped_at < ITERATIONS

    rerun = subprocess.run(
        _train_argv(faults, *data, workdir),
        env=_env(faults),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"resumed from {checkpoint} at iteration {stopped_at}" in rerun.stdout
    got, want = _weights(workdir / "model.pt"), _weights(reference)
    assert got.keys() == want.keys()
    for name in want:
        assert torch.equal(got[name], want[name]), f"{name} differs from the uninterrupted run"
    # A temporary file stranded by SIGKILL mid-write is removed by the rerun.
    assert faults.leftovers(workdir) == []


def _wait_stopped(pid: int) -> None:
    """Return once the kernel reports ``pid`` stopped (SIGSTOP is delivered asynchronously)."""
    stat = Path(f"/proc/{pid}/stat")
    while stat.read_text().rpartition(")")[2].split()[0] not in ("T", "t", "Z"):
        time.sleep(0.0005)


def _stop_during_checkpoint_write(process: subprocess.Popen, folder: Path) -> Path | None:
    """SIGSTOP ``process`` while a temporary of ``last.pt`` exists; returns it (None: run ended).

    The folder is scanned without pause; when a temporary shows up the process is frozen and
    the temporary looked for again, so that it is known to be mid-write when SIGKILL lands.
    """
    while process.poll() is None:
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            continue
        if any(n.startswith(".last.pt.") for n in names):
            process.send_signal(signal.SIGSTOP)
            _wait_stopped(process.pid)
            stranded = [folder / n for n in os.listdir(folder) if n.startswith(".last.pt.")]
            if stranded:
                return stranded[0]
            process.send_signal(signal.SIGCONT)
    return None


@pytest.mark.slow
def test_kill_during_a_checkpoint_write_resumes_from_the_previous_one(
    data, reference, tmp_path, faults
):
    """SIGKILL lands while ``last.pt`` is being written: the previous checkpoint is intact, the
    rerun removes the half-written temporary and ends on the uninterrupted run's weights."""
    workdir = tmp_path / "work"
    # a checkpoint every step (not part of the trajectory): many writes to land in
    argv = _train_argv(faults, *data, workdir, checkpoint_every=1)
    process = subprocess.Popen(
        argv, env=_env(faults), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        stranded = _stop_during_checkpoint_write(process, workdir / "checkpoints")
    finally:
        process.kill()
        process.wait(timeout=60)
    assert stranded is not None, "the run ended before a checkpoint write could be caught"
    assert stranded.exists(), "the kill did not land during the write"
    checkpoint = workdir / "checkpoints" / "last.pt"
    previous = torch.load(checkpoint, weights_only=True)["iteration"] if checkpoint.exists() else 0
    assert previous < ITERATIONS

    rerun = subprocess.run(argv, env=_env(faults), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"removed {stranded}, left by a run killed while writing" in rerun.stdout
    if previous:
        assert f"resumed from {checkpoint} at iteration {previous}" in rerun.stdout
    got, want = _weights(workdir / "model.pt"), _weights(reference)
    for name in want:
        assert torch.equal(got[name], want[name]), f"{name} differs from the uninterrupted run"
    assert faults.leftovers(workdir) == []
