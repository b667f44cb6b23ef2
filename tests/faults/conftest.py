"""Fault injection from the user's side: damaged inputs, and the commands that must refuse them.

Helpers are fixtures (the suite runs with ``--import-mode=importlib``, so test modules cannot
import each other). ``write_columns`` writes an event file column by column through uproot, so a
test can drop, retype or corrupt any branch; ``run_in_process`` runs a command in-process and
``run_subprocess`` as a user would, both returning exit status, stdout and stderr;
``assert_user_error`` states the contract every refusal must meet (``assert_refused`` runs a
command in-process and checks it); the ``*_argv`` functions build the tests' command lines.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
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

from lartpc_seg.io.digest import CONTENT_FIELD
from lartpc_seg.io.events import (
    EVENT_BRANCHES,
    PARTICLE_FIELDS,
    VOXEL_FIELDS,
    Event,
    FileMeta,
    _chunk_columns,
)
from lartpc_seg.io.predictions import PREDICTION_BRANCHES
from lartpc_seg.io.root import content_digest, is_per_voxel

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


def assert_refused(
    main: Callable[[list[str]], int], argv: list[str], path: Path | str | None, **expected
) -> str:
    """Run ``main(argv)`` in-process and check its refusal by :func:`assert_user_error`
    (``expected``: its keyword arguments); return the error line."""
    return assert_user_error(run_in_process(main, argv), path, **expected)


def infer_argv(model: Path | str, events: Path | str, out: Path | str) -> list[str]:
    """The ``infer`` command line: ``events`` segmented by ``model`` into ``out``."""
    return ["infer", "--model", str(model), "--events", str(events), "--out", str(out)]


def simulate_argv(out: Path | str, *, events: int = 1, seed: int = 1, grid: int = 32) -> list[str]:
    """The ``simulate`` command line: ``events`` events of seed ``seed`` into ``out``."""
    return [
        "simulate",
        *("--events", str(events), "--seed", str(seed), "--grid", str(grid)),
        *("--out", str(out)),
    ]


def accuracy_argv(
    events: Path | str,
    predictions: Path | str,
    out: Path | str,
    *,
    column: str | None = "k=v:relabel",
    bootstrap: int = 0,
) -> list[str]:
    """The ``accuracy`` command line: ``predictions`` (as variant ``v``) of ``events`` scored
    against the column ``column`` (None: no ``--column``) into ``out``."""
    return [
        *("accuracy", "--events", str(events), "--predictions", f"v={predictions}"),
        *(("--column", column) if column is not None else ()),
        *("--bootstrap", str(bootstrap), "--out", str(out)),
    ]


def michel_argv(
    events: Path | str, out: Path | str, *, predictions: Path | str | None = None
) -> list[str]:
    """The ``michel`` command line: Michel clusters of ``events`` into ``out``, from
    ``predictions`` or, when None, from the true labels (``--truth``)."""
    source = ("--predictions", str(predictions)) if predictions is not None else ("--truth",)
    return ["michel", "--events", str(events), *source, "--out", str(out)]


def train_argv(
    train: Path | str,
    val: Path | str,
    workdir: Path | str,
    *,
    model: dict | None,
    options: dict | None = None,
    labels: str = "relabel",
    seed: int | None = None,
    threads: int | None = None,
) -> list[str]:
    """The ``train`` command line: on ``train``, validated on ``val``, into ``workdir``.

    ``model`` and ``options`` are given as JSON; None leaves out that argument, as it leaves
    out ``--seed`` and ``--threads`` (the ``faults`` fixture defaults ``model`` to the tiny
    network).
    """
    return [
        *("train", "--train", str(train), "--val", str(val), "--labels", labels),
        *(("--seed", str(seed)) if seed is not None else ()),
        *(("--threads", str(threads)) if threads is not None else ()),
        *(("--model", json.dumps(model)) if model is not None else ()),
        *(("--options", json.dumps(options)) if options is not None else ()),
        *("--workdir", str(workdir)),
    ]


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


def content_sha256(columns: dict[str, object], tree: str, meta: FileMeta) -> str | None:
    """The content digest of ``columns`` as the project's writers compute it, or None when a
    branch of the contract is missing, mistyped or of the other shape (such a file is refused
    by its structure before any digest matters)."""
    branches = {"events": EVENT_BRANCHES, "predictions": PREDICTION_BRANCHES}.get(tree)
    if branches is None:
        return None
    for name, dtype in branches.items():
        column = columns.get(name)
        if column is None or isinstance(column, ak.Array) != is_per_voxel(name):
            return None
        flat = ak.to_numpy(ak.flatten(column, axis=1)) if is_per_voxel(name) else column
        if column.ndim != 1 + is_per_voxel(name) or np.asarray(flat).dtype != dtype:
            return None
    digest = content_digest(branches)
    digest.update(columns)
    return digest.hexdigest(meta.content_bytes())


def write_columns(
    path: Path,
    columns: dict[str, object],
    *,
    grid: int = 32,
    tree: str = "events",
    digest: bool | str = True,
) -> Path:
    """Write ``columns`` as one branch each (a jagged one gets its own counter ``n<name>``).

    Unlike :func:`lartpc_seg.io.events.write_events`, nothing ties the ``vox_*`` lengths to
    ``nvox``, and any branch may be dropped or retyped: the point is to write what the contract
    forbids. ``digest``: True records the content digest of what is written, as the project's
    writers do, so that readers get to the content checks; False records none (a file written
    before digests); a string is recorded as it is.
    """
    meta = FileMeta(grid=grid, source="faults")
    recorded = content_sha256(columns, tree, meta) if digest is True else digest or None
    if recorded is not None:
        meta.extra[CONTENT_FIELD] = recorded
    with uproot.recreate(path) as file:
        file.mktree(
            tree,
            {
                k: (v.type.content if isinstance(v, ak.Array) else v.dtype)
                for k, v in columns.items()
            },
        )
        file[tree].extend(columns)
        meta.write(file)
    return path


def uncompressed_baskets(path: Path, tree: str) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges ``[start, stop)`` of the contents of the baskets ``tree`` stores uncompressed.

    ROOT stores a basket uncompressed when compressing does not make it smaller, and keeps no
    checksum of it: a byte changed there is read as another value unless a reader checks more.
    """
    data = path.read_bytes()
    ranges: dict[str, list[tuple[int, int]]] = {}
    with uproot.open(path) as file:
        for branch in file[tree].branches:
            for i in range(branch.num_baskets):
                size = branch.basket_compressed_bytes(i)  # on disk, key included
                if size != branch.basket_uncompressed_bytes(i):
                    continue
                seek = int(branch.member("fBasketSeek")[i])
                key_length = int.from_bytes(data[seek + 14 : seek + 16], "big")  # TKey fKeylen
                ranges.setdefault(branch.name, []).append((seek + key_length, seek + size))
    return ranges


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
        assert_refused=assert_refused,
        leftovers=leftovers,
        infer_argv=infer_argv,
        simulate_argv=simulate_argv,
        accuracy_argv=accuracy_argv,
        michel_argv=michel_argv,
        train_argv=functools.partial(train_argv, model=tiny_models.config),
        event_columns=event_columns,
        write_columns=write_columns,
        content_sha256=content_sha256,
        uncompressed_baskets=uncompressed_baskets,
        set_value=set_value,
        tiny_model_file=tiny_models.write,
        TINY_MODEL=tiny_models.config,
        REPO=REPO,
        PYTHON=PYTHON,
    )
