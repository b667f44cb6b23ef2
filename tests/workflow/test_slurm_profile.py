"""The SLURM profile against fake SLURM commands: what would be submitted, and where.

Fake ``sbatch``, ``sinfo``, ``squeue``, ``sacct``, ``scontrol``, ``sacctmgr``, ``sshare`` and
``scancel`` (the commands snakemake-executor-plugin-slurm 2.8 calls) record their arguments and
answer like an idle cluster; submitted jobs never finish. A copy of the finished smoke run with a
few outputs removed makes one GPU training, one GPU inference and one CPU job ready at once.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "workflow" / "configs" / "smoke.yaml"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

FAKES = {
    "sbatch": 'cat > /dev/null\nn=$(wc -l < "$LOG/sbatch.log")\necho $((1000 + n))',
    "sinfo": 'printf "PARTITION\\ncpu*\\ngpu\\n"',
    "squeue": "true",
    "sacct": "true",
    "scontrol": 'printf "MinJobAge = 300 sec\\nMaxArraySize = 1001\\n"',
    "sacctmgr": "true",
    "sshare": "true",
    "scancel": "true",
}

#: Seconds to wait for the submissions (Snakemake plans the DAG first: a few seconds).
SUBMIT_TIMEOUT_S = 120

#: Outputs removed from the copied run, and the rule each one makes ready.
REMOVED = {
    "results/train/regular/seed-7/model.pt": "train",
    "results/predictions/relabeled/seed-7/0.root": "infer",
    "results/plots/events/event_0.png": "event_display",
}


def fake_slurm(bin_dir: Path, log_dir: Path) -> None:
    """Write the fake SLURM commands; each appends its arguments to ``log_dir/<name>.log``."""
    bin_dir.mkdir()
    log_dir.mkdir()
    for name, body in FAKES.items():
        (log_dir / f"{name}.log").touch()
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nLOG={log_dir}\necho "$*" >> "$LOG/{name}.log"\n{body}\n')
        script.chmod(0o755)


def submitted(log_dir: Path) -> dict[str, str]:
    """sbatch command lines by rule name (from the ``--comment rule_<name>...`` the plugin sets)."""
    lines = (log_dir / "sbatch.log").read_text().splitlines()
    by_rule = {}
    for line in lines:
        rule = next(r for r in REMOVED.values() if f"rule_{r}" in line)
        by_rule[rule] = line
    return by_rule


def refusals(output: str) -> dict[str, str]:
    """Rules whose submission the plugin refused, with its reason (e.g. a bad slurm_extra)."""
    pattern = r"Error in rule (\w+):\n\s+message: Job submission failed with exception: ([^\n]*?\.)"
    return {rule: why for rule, why in re.findall(pattern, output)}


@pytest.fixture(scope="module")
def slurm_submissions(smoke_run, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """sbatch line (or ``REFUSED: reason``) by rule, of one ``--profile profiles/slurm`` run
    stopped once every ready job is submitted or refused."""
    tmp_path = tmp_path_factory.mktemp("slurm")
    workdir = tmp_path / "run"
    shutil.copytree(smoke_run.workdir, workdir, symlinks=True)
    for path in REMOVED:
        (workdir / path).unlink()
    bin_dir, log_dir = tmp_path / "bin", tmp_path / "slurm"
    fake_slurm(bin_dir, log_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SNAKEMAKE", "SLURM"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    cmd = [
        str(SNAKEMAKE),
        "--profile",
        "profiles/slurm",
        "--workflow-profile",
        "none",
        "--configfile",
        str(SMOKE),
        "--directory",
        str(workdir),
    ]
    console = tmp_path / "snakemake.out"
    with console.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + SUBMIT_TIMEOUT_S
        while time.monotonic() < deadline and proc.poll() is None:
            if set(submitted(log_dir)) | set(refusals(console.read_text())) == set(
                REMOVED.values()
            ):
                break
            time.sleep(0.5)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    output = console.read_text()
    jobs = submitted(log_dir)
    refused = refusals(output)
    assert set(jobs) | set(refused) == set(REMOVED.values()), output[-4000:]
    return {**jobs, **{rule: f"REFUSED: {why}" for rule, why in refused.items()}}


def test_account_placeholder_on_every_job(slurm_submissions: dict[str, str]):
    lines = {r: line for r, line in slurm_submissions.items() if not line.startswith("REFUSED")}
    assert len(lines) >= 2, slurm_submissions
    for rule, line in lines.items():
        assert " -A CHANGE_ME" in line, f"{rule}: {line}"


@pytest.mark.parametrize("rule", ["train", "infer"])
def test_gpu_rules_go_to_the_gpu_partition_with_a_gpu(slurm_submissions: dict[str, str], rule):
    line = slurm_submissions[rule]
    assert " -p gpu" in line, line
    assert "--gpus=1" in line or "--gres=gpu:1" in line, line


def test_cpu_rules_go_to_the_cpu_partition_without_a_gpu(slurm_submissions: dict[str, str]):
    line = slurm_submissions["event_display"]
    assert " -p cpu" in line, line
    assert "--gpus" not in line and "--gres" not in line, line
