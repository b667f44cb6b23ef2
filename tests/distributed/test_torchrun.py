"""``python -m lartpc_seg train`` under torchrun: 2 CPU workers (gloo) against 1 worker.

Each run is a real ``python -m torch.distributed.run --standalone`` launch (localhost
rendezvous), so these tests are slow (~20 s of start-up per launch on the 2-core machine).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lartpc_seg.models import UResNetConfig
from lartpc_seg.train.data import EventStore
from lartpc_seg.train.loop import Trainer
from lartpc_seg.train.setup import TrainOptions, TrainSetup, digest_files

ITERATIONS = 40
MODEL = {"filters": 4, "depth": 2, "reps": 1}
OPTIONS = {
    "iterations": ITERATIONS,
    "batch_size": 2,
    "global_batch": 4,
    "validate_every": ITERATIONS,
    "checkpoint_every": 2,
    "log_every": 1,
    "val_events": 4,
}
TIMEOUT_S = 300


def _command(files: dict[str, Path], workdir: Path, workers: int) -> list[str]:
    launcher = [sys.executable]
    if workers > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={workers}"]
    return [
        *launcher, "-m", "lartpc_seg", "train",
        "--train", str(files["train"]), "--val", str(files["val"]),
        "--labels", "relabel", "--model", json.dumps(MODEL), "--options", json.dumps(OPTIONS),
        "--seed", "3", "--threads", "1", "--workdir", str(workdir),
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _train(files, workdir: Path, workers: int) -> subprocess.CompletedProcess:
    done = subprocess.run(
        _command(files, workdir, workers), env=_env(), capture_output=True, text=True,
        timeout=TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _train_in_process(files, workdir: Path) -> None:
    """The 1-worker reference, run in this process (saves a launch: ~20 s of imports)."""
    setup = TrainSetup(
        train_files=[str(files["train"])], val_files=[str(files["val"])], labels="relabel",
        class_weights=False, model=UResNetConfig(**MODEL), options=TrainOptions(**OPTIONS),
        seed=3, train_digests=digest_files([files["train"]]),
    )  # fmt: skip
    trainer = Trainer(setup, workdir, torch.device("cpu"))
    trainer.fit(EventStore(setup.train_files, "relabel"), EventStore(setup.val_files, "relabel"))
    trainer.finish()


def _model(workdir: Path) -> dict[str, torch.Tensor]:
    return torch.load(workdir / "model.pt", weights_only=True)["model"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Toy files, and an uninterrupted training on 1 and on 2 workers (same global batch).

    The 1-worker run is in this process, the 2-worker one a torchrun launch.
    """
    sys.path.insert(0, str(Path(__file__).parents[1]))
    import numpy as np
    from conftest import toy_event

    from lartpc_seg.io.events import FileMeta, write_events

    root = tmp_path_factory.mktemp("distributed")
    files = {}
    for name, n, seed in [("train", 16, 1), ("val", 4, 2)]:
        rng = np.random.default_rng(seed)
        files[name] = root / f"{name}.root"
        write_events(
            files[name], (toy_event(rng, i) for i in range(n)), FileMeta(grid=32, source="toy")
        )
    _train_in_process(files, root / "one")
    two = _train(files, root / "two", 2)
    return files, root, two


@pytest.mark.slow
def test_two_workers_train_the_one_worker_model(runs):
    """40 Adam steps of global batch 4: weights and running statistics equal within 1e-5."""
    _, root, two = runs
    a, b = _model(root / "one"), _model(root / "two")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(b[name], a[name], rtol=0, atol=1e-5, msg=name)
    assert "x 2 workers, global batch 4" in two.stdout
    # The logged losses are those of the global batch, so the logs agree too.
    logs = [(root / r / "log.csv").read_text().splitlines() for r in ("one", "two")]
    loss = [[float(line.split(",")[2]) for line in log[1:]] for log in logs]
    assert loss[0] == pytest.approx(loss[1], abs=1e-4)


@pytest.mark.slow
def test_killed_worker_fails_the_run_and_the_rerun_resumes(runs):
    """SIGKILL to rank 1: the run fails naming the cause; the rerun ends on the same weights."""
    files, root, _ = runs
    workdir = root / "killed"
    log = root / "killed.out"
    with open(log, "w") as out:
        launcher = subprocess.Popen(
            _command(files, workdir, 2), env=_env(), stdout=out, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + TIMEOUT_S
        while "iteration 5/" not in log.read_text():
            assert launcher.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.01)
        victim = _worker_pid(launcher.pid, rank=1)
        os.kill(victim, 9)
        launcher.wait(timeout=TIMEOUT_S)
    text = log.read_text()
    assert launcher.returncode != 0
    assert "error: worker 0 lost contact with another worker" in text
    assert "a rerun resumes from the checkpoint of iteration" in text
    assert "Signal 9 (SIGKILL)" in text and "rank      : 1" in text  # torchrun's report
    checkpoint = torch.load(workdir / "checkpoints" / "last.pt", weights_only=True)
    assert 4 <= checkpoint["iteration"] < ITERATIONS

    rerun = _train(files, workdir, 2)
    assert f"at iteration {checkpoint['iteration']}" in rerun.stdout
    straight = _model(root / "two")
    for name, value in _model(workdir).items():
        torch.testing.assert_close(value, straight[name], rtol=0, atol=1e-6, msg=name)


def _worker_pid(launcher: int, rank: int) -> int:
    """The pid of the torchrun child whose environment says ``RANK=rank``."""
    children = Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split()
    for pid in map(int, children):
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        if f"RANK={rank}".encode() in environ:
            return pid
    raise AssertionError(f"no worker of rank {rank} among {children}")
