"""The Makefile's install targets: TORCH_SPEC / TORCH_INDEX reach pip, and changing them reinstalls.

``make install`` runs against a throwaway virtualenv whose ``pip`` is a script that records its
arguments, so the test sees exactly what pip is asked to do without installing anything.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
CUDA_INDEX = "https://download.pytorch.org/whl/cu124"


@pytest.fixture
def fake_venv(tmp_path: Path) -> tuple[Path, Path]:
    """A virtualenv directory whose ``pip`` appends its arguments to ``pip.log``."""
    if shutil.which("make") is None:
        pytest.fail("make is not installed; the Makefile is the project's entry point")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\n")
    log = tmp_path / "pip.log"
    pip = venv / "bin" / "pip"
    pip.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    pip.chmod(0o755)
    return venv, log


def install(venv: Path, log: Path, **variables: str) -> list[str]:
    """Run ``make install`` with ``variables``; the pip calls it made (and clear the log)."""
    args = [f"{k}={v}" for k, v in variables.items()]
    proc = subprocess.run(
        ["make", "-C", str(REPO), "install", f"VENV={venv}", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return calls


def test_default_spec_uses_the_configured_index(fake_venv):
    venv, log = fake_venv
    calls = install(venv, log)
    assert calls == ["uninstall -y torch", "install torch==2.13.0", "install -e .[test]"]


def test_cpu_index_reaches_pip(fake_venv):
    venv, log = fake_venv
    calls = install(venv, log, TORCH_SPEC="torch==2.5.1", TORCH_INDEX=CPU_INDEX)
    assert f"install --index-url {CPU_INDEX} torch==2.5.1" in calls


def test_unchanged_spec_installs_nothing(fake_venv):
    venv, log = fake_venv
    install(venv, log, TORCH_SPEC="torch==2.5.1", TORCH_INDEX=CPU_INDEX)
    assert install(venv, log, TORCH_SPEC="torch==2.5.1", TORCH_INDEX=CPU_INDEX) == []


def test_changed_spec_or_index_reinstalls_torch(fake_venv):
    venv, log = fake_venv
    install(venv, log, TORCH_SPEC="torch==2.5.1", TORCH_INDEX=CPU_INDEX)
    # same version from the CUDA index: torch is removed first, since pip would keep 2.5.1+cpu
    calls = install(venv, log, TORCH_SPEC="torch==2.5.1", TORCH_INDEX=CUDA_INDEX)
    assert calls == [
        "uninstall -y torch",
        f"install --index-url {CUDA_INDEX} torch==2.5.1",
        "install -e .[test]",
    ]
    # and switching back to the first pair reinstalls it rather than trusting its old stamp
    calls = install(venv, log, TORCH_SPEC="torch==2.5.1", TORCH_INDEX=CPU_INDEX)
    assert f"install --index-url {CPU_INDEX} torch==2.5.1" in calls
