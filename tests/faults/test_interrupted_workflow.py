"""A Snakemake run interrupted mid-DAG: the rerun does only what is missing, nothing partial stays.

The smoke study's dataset stage and one training are the DAG (enough jobs to interrupt between
them, cheap enough to run twice), with the training lengthened so that it is still running when
the signal arrives (the smoke study's 6 steps can end first on a fast machine). The run is
stopped with SIGINT (Ctrl-C, what a user or a cluster's time limit sends) once the first shards
exist and training has written its first checkpoint, which the rerun must resume from.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from lartpc_seg.io.events import EventFile

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
TARGETS = ["results/tables/dataset.csv", "results/train/relabeled/seed-7/model.pt"]
#: training steps: the signal lands soon after the first checkpoint, with most steps still to run
ITERATIONS = 400
CHECKPOINT_EVERY = 20


def _config(workdir: Path) -> Path:
    """The smoke study with a training long enough to be interrupted."""
    config = yaml.safe_load((REPO / "workflow" / "configs" / "smoke.yaml").read_text())
    config["train"].update(
        iterations=ITERATIONS, validate_every=100, checkpoint_every=CHECKPOINT_EVERY
    )
    path = workdir.parent / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _snakemake(workdir: Path, *extra: str) -> list[str]:
    return [
        str(SNAKEMAKE),
        "-s",
        str(REPO / "Snakefile"),
        "--configfile",
        str(_config(workdir)),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *extra,
        *TARGETS,
    ]


def _planned_jobs(workdir: Path) -> dict[str, int]:
    """Rule → number of jobs a dry run would execute now."""
    out = subprocess.run(
        _snakemake(workdir, "-n", "--rerun-incomplete"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    lines = (out.stdout + out.stderr).splitlines()
    if "Job stats:" not in lines:
        return {}
    jobs = {}
    for line in lines[lines.index("Job stats:") + 3 :]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        jobs[parts[0]] = int(parts[1])
    return jobs


def _temporaries(workdir: Path) -> list[Path]:
    return [p for p in workdir.rglob(".*.tmp*") if p.is_file() and ".snakemake" not in p.parts]


@pytest.mark.slow
@pytest.mark.workflow
def test_interrupted_run_resumes_only_the_missing_jobs(tmp_path):
    workdir = tmp_path / "study"
    workdir.mkdir()
    full_plan = _planned_jobs(workdir)
    assert full_plan["simulate"] == 6 and full_plan["train"] == 1

    run = subprocess.Popen(
        _snakemake(workdir),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    training = workdir / "logs" / "train" / "relabeled" / "seed-7.log"
    checkpoint = workdir / "results" / "train" / "relabeled" / "seed-7" / "checkpoints" / "last.pt"
    while run.poll() is None and time.monotonic() < deadline:
        if checkpoint.exists():
            break
        time.sleep(0.05)
    assert run.poll() is None, "the run ended before it could be interrupted"
    os.killpg(run.pid, signal.SIGINT)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode != 0, stderr

    # Whatever the interrupted run left as finished is complete and readable.
    shards = sorted((workdir / "data").rglob("*.root"))
    assert shards, "no shard finished before the interruption"
    for shard in shards:
        with EventFile(shard) as events:
            assert len(events.read()) == len(events)
    assert not (workdir / "results" / "train" / "relabeled" / "seed-7" / "model.pt").exists()
    assert _temporaries(workdir) == []
    assert "checkpoint written, rerun to resume" in training.read_text()
    stopped_at = torch.load(checkpoint, weights_only=True)["iteration"]
    assert CHECKPOINT_EVERY <= stopped_at < ITERATIONS

    # The rerun plans only what is missing: no finished shard is simulated again.
    plan = _planned_jobs(workdir)
    assert plan.get("simulate", 0) == full_plan["simulate"] - len(shards)
    assert plan["train"] == 1

    rerun = subprocess.run(
        _snakemake(workdir, "--rerun-incomplete"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (workdir / "results" / "train" / "relabeled" / "seed-7" / "model.pt").exists()
    assert (
        f"resumed from results/train/relabeled/seed-7/checkpoints/last.pt at iteration {stopped_at}"
        in (training.read_text())
    ), "the rerun did not resume from the checkpoint the interrupted run wrote"
    assert (workdir / "results" / "tables" / "dataset.csv").read_text().startswith("split,")
    assert _temporaries(workdir) == []
    assert _planned_jobs(workdir) == {}
