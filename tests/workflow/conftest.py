"""The smoke study, run once per test session in a temporary directory and shared by the tests.

Snakemake runs from the repository root (so it picks up ``profiles/default`` as the workflow
profile, like ``make run`` does) with ``--directory`` pointing at a temporary directory, so no
output lands in the repository.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "workflow" / "configs" / "smoke.yaml"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
#: Ceiling on the smoke run; it takes about two minutes on two cores.
SMOKE_TIMEOUT_S = 900


@dataclass(frozen=True)
class SmokeRun:
    """A finished smoke study: its working directory and Snakemake's combined output."""

    workdir: Path
    output: str


def snakemake(
    workdir: Path, *args: str, timeout: float = 300, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run the project's Snakemake on the smoke config in ``workdir``, from the repository root.

    Returns the completed process with stdout and stderr merged into ``stdout``.
    """
    cmd = [
        str(SNAKEMAKE),
        "--configfile",
        str(SMOKE),
        "--directory",
        str(workdir),
        *args,
    ]
    return subprocess.run(
        cmd,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    """The whole smoke DAG plus its HTML report, run once (about two minutes on two cores)."""
    workdir = tmp_path_factory.mktemp("smoke")
    proc = snakemake(
        workdir,
        "--cores",
        "2",
        "--report-after-run",
        "--report",
        "results/report.html",
        timeout=SMOKE_TIMEOUT_S,
    )
    if proc.returncode != 0:
        pytest.fail(f"smoke run failed (exit {proc.returncode}):\n{proc.stdout[-6000:]}")
    return SmokeRun(workdir=workdir, output=proc.stdout)


@pytest.fixture(scope="session")
def run_snakemake():
    """:func:`snakemake`, for test modules (which cannot import this conftest by name)."""
    return snakemake
