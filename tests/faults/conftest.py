"""Fault injection from the user's side: damaged inputs, and the commands that must refuse them.

Helpers are fixtures (the suite runs with ``--import-mode=importlib``, so test modules cannot
import each other). ``bad_file`` writes an event file column by column through uproot, so a test
can drop, retype or corrupt any branch; ``cli`` runs a command in-process and ``cli_subprocess``
as a user would, both returning exit status, stdout and stderr; ``assert_user_error`` states the
contract every refusal must meet.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from lartpc_seg.io.events import (
    PARTICLE_FIELDS,
    VOXEL_FIELDS,
    Event,
    FileMeta,
    _chunk_columns,
)

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


@dataclass
class Outcome:
    """What a user sees: the exit status and the two streams."""

    status: int
    stdout: str
    stderr: str


def run_in_process(main: Callable[[list[str]], int], argv: list[str]) -> Outcome:
    """Run ``main(argv)`` capturing stdout and stderr; a ``SystemExit`` becomes the status."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else 1
    return Outcome(int(status), out.getvalue(), err.getvalue())


def run_subprocess(args: list[str], *, cwd: Path | None = None, timeout: float = 300) -> Outcome:
    """Run ``python -m <args>`` from the repository, as a user would."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [PYTHON, "-m", *args],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def assert_user_error(
    outcome: Outcome,
    path: Path | str | None,
    *,
    event: int | None = None,
    field: str | None = None,
    words: str | None = None,
    stream: str = "stderr",
) -> str:
    """Check the refusal contract and return the error line.

    Non-zero exit, no traceback, exactly one ``error: ...`` line on ``stream`` (``validate``
    lists its problems on stdout instead, without the prefix) that names ``path`` and, when
    given, ``event N`` and ``field 'F'``; ``words`` is a regular expression the line must match.
    """
    assert outcome.status != 0, f"exit status 0 for a bad input:\n{outcome}"
    assert "Traceback" not in outcome.stderr, outcome.stderr
    text = getattr(outcome, stream)
    if stream == "stderr":
        lines = [line for line in text.splitlines() if line.startswith("error: ")]
        assert len(lines) == 1, f"expected one error line, got:\n{text}"
    else:
        lines = [line for line in text.splitlines() if path is None or str(path) in line]
        assert lines, f"no line names {path}:\n{text}"
    line = lines[0]
    if path is not None:
        assert str(path) in line, f"{path} not named in: {line}"
    if event is not None:
        assert f"event {event}" in line, f"event {event} not named in: {line}"
    if field is not None:
        assert f"field '{field}'" in line, f"field {field} not named in: {line}"
    if words is not None:
        assert re.search(words, line, re.IGNORECASE), f"/{words}/ not in: {line}"
    return line


def leftovers(folder: Path) -> list[Path]:
    """Temporary files of :func:`lartpc_seg.io.atomic.atomic_path` left in ``folder``."""
    return sorted(p for p in folder.rglob(".*.tmp*"))


def event_columns(events: list[Event]) -> dict[str, object]:
    """The branches of the ``events`` tree as arrays, one entry per event."""
    chunk = _chunk_columns(events)
    vox, part = chunk["vox"], chunk["part"]
    columns: dict[str, object] = {
        "event": chunk["event"],
        "nvox": ak.to_numpy(ak.num(vox, axis=1)).astype(np.int32),
    }
    columns.update({f"vox_{k}": vox[k] for k in VOXEL_FIELDS})
    columns["npart"] = ak.to_numpy(ak.num(part, axis=1)).astype(np.int32)
    columns.update({f"part_{k}": part[k] for k in PARTICLE_FIELDS})
    return columns


def write_columns(
    path: Path, columns: dict[str, object], *, grid: int = 32, tree: str = "events"
) -> Path:
    """Write ``columns`` as one branch each (a jagged one gets its own counter ``n<name>``).

    Unlike :func:`lartpc_seg.io.events.write_events`, nothing ties the ``vox_*`` lengths to
    ``nvox``, and any branch may be dropped or retyped: the point is to write what the contract
    forbids.
    """
    with uproot.recreate(path) as file:
        file.mktree(
            tree,
            {
                k: (v.type.content if isinstance(v, ak.Array) else v.dtype)
                for k, v in columns.items()
            },
        )
        file[tree].extend(columns)
        FileMeta(grid=grid, source="faults").write(file)
    return path


def set_value(columns: dict, branch: str, entry: int, index: int, value: object) -> None:
    """Set element ``index`` of entry ``entry`` of a jagged branch, keeping its dtype."""
    array = columns[branch]
    flat = ak.to_numpy(ak.flatten(array)).copy()
    offsets = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(array, axis=1)))])
    flat[offsets[entry] + index] = value
    columns[branch] = ak.unflatten(flat, ak.num(array, axis=1))


@pytest.fixture(scope="session")
def faults(tiny_models):
    """The helpers of this module, for test modules (which cannot import a conftest)."""
    import types

    return types.SimpleNamespace(
        Outcome=Outcome,
        run_in_process=run_in_process,
        run_subprocess=run_subprocess,
        assert_user_error=assert_user_error,
        leftovers=leftovers,
        event_columns=event_columns,
        write_columns=write_columns,
        set_value=set_value,
        tiny_model_file=tiny_models.write,
        TINY_MODEL=tiny_models.config,
        REPO=REPO,
        PYTHON=PYTHON,
    )
