"""Progress of long jobs: lines with count, rate and ETA at a steady cadence, written to the log
file even when the output is not a terminal; the benchmark's log without profiler chatter."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from analysis.cli import main as analysis_main
from lartpc_seg.cli import main
from lartpc_seg.native_stderr import drop_native_lines
from lartpc_seg.progress import INTERVAL_ENV, Progress, eta_seconds, format_duration

REPO = Path(__file__).resolve().parents[1]
#: A progress line: "name: done/total unit (p %), rate unit/s, elapsed H:MM:SS, ETA H:MM:SS".
LINE = re.compile(
    r"^(?P<name>[\w-]+): (?P<done>\d+)/(?P<total>\d+) (?P<unit>\w+) \(\d+ %\), "
    r"[\d.e+]+ (?P=unit)/s, elapsed \d+:\d\d:\d\d, ETA \d+:\d\d:\d\d$"
)
DONE = re.compile(r"^(?P<name>[\w-]+): done, (?P<done>\d+) (?P<unit>\w+) in \d+:\d\d:\d\d ")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def progress_lines(text: str, name: str) -> list[re.Match]:
    return [m for line in text.splitlines() if (m := LINE.match(line)) and m["name"] == name]


def test_lines_come_at_the_cadence_with_rate_and_eta():
    clock, out = FakeClock(), io.StringIO()
    progress = Progress("infer", 400, interval=30, stream=out, clock=clock)
    for _ in range(100):  # 100 events in 25 s: no line yet
        clock.now += 0.25
        progress.update()
    assert out.getvalue() == ""
    for _ in range(20):  # 30 s reached at event 120
        clock.now += 0.25
        progress.update()
    assert out.getvalue() == (
        "infer: 120/400 events (30 %), 4 events/s, elapsed 0:00:30, ETA 0:01:10\n"
    )
    for _ in range(280):
        clock.now += 0.25
        progress.update()
    progress.close()
    lines = out.getvalue().splitlines()
    # one line at 30, 60 and 90 s, none at 100 s (all done), then the final line
    assert [LINE.match(line)["done"] for line in lines[:-1]] == ["120", "240", "360"]
    assert lines[-1] == "infer: done, 400 events in 0:01:40 (4 events/s)"


def test_eta_and_durations():
    assert eta_seconds(0, 10, 5.0) == float("inf")
    assert eta_seconds(5, 10, 5.0) == pytest.approx(5.0)
    assert eta_seconds(12, 10, 5.0) == 0.0
    assert format_duration(3725.4) == "1:02:05"
    assert format_duration(float("inf")) == "?"


def test_interval_from_the_environment(monkeypatch):
    monkeypatch.setenv(INTERVAL_ENV, "0")
    assert Progress("x", 1).interval == 0.0
    monkeypatch.setenv(INTERVAL_ENV, "soon")
    with pytest.raises(ValueError, match=INTERVAL_ENV):
        Progress("x", 1)


def test_native_profiler_lines_are_dropped_and_others_kept(capfd):
    with drop_native_lines():
        os.write(2, b"USDT:2026 x.cpp:52] profiler_start\nwarning: keep me\nSTAGE: warm up\n")
    err = capfd.readouterr().err
    assert err == "warning: keep me\n"


def test_profiled_benchmark_measurement_leaves_no_profiler_chatter(capfd):
    from lartpc_seg.benchmark.engine import convolution_share

    a = torch.randn(8, 8)
    share = convolution_share(lambda: torch.mm(a, a), steps=2)
    assert share == 0.0  # no sparse convolution in a matrix product
    captured = capfd.readouterr()
    assert "USDT" not in captured.err and "profiler_start" not in captured.err


def test_simulate_logs_progress_into_a_file(tmp_path):
    """As under Snakemake: stdout is a log file, not a terminal."""
    log = tmp_path / "simulate.log"
    env = {**os.environ, INTERVAL_ENV: "0", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "lartpc_seg", "simulate", "--events", "3", "--seed", "1"]
    cmd += ["--grid", "64", "--out", str(tmp_path / "sim.root")]
    with open(log, "w") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=300)
    text = log.read_text()
    assert proc.returncode == 0, text
    lines = progress_lines(text, "simulate")
    assert [int(m["done"]) for m in lines] == [1, 2]
    assert all(m["total"] == "3" and m["unit"] == "events" for m in lines)
    assert "simulate: done, 3 events in" in text


def test_infer_logs_progress(toy_file, tiny_model, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(INTERVAL_ENV, "0")
    events = toy_file("events.root", 3)
    argv = ["infer", "--model", str(tiny_model), "--events", str(events)]
    assert main([*argv, "--out", str(tmp_path / "p.root"), "--batch-size", "1"]) == 0
    text = capsys.readouterr().out
    assert [int(m["done"]) for m in progress_lines(text, "infer")] == [1, 2]
    assert "infer: done, 3 events in" in text


def test_training_log_lines_carry_elapsed_time_and_eta(toy_file, tmp_path, capsys):
    train, val = toy_file("train.root", 4, seed=1), toy_file("val.root", 2, seed=2)
    options = {"iterations": 3, "batch_size": 2, "validate_every": 3, "log_every": 1}
    argv = ["train", "--train", str(train), "--val", str(val), "--labels", "relabel"]
    argv += ["--model", json.dumps({"filters": 4, "depth": 2, "reps": 1})]
    argv += ["--options", json.dumps(options), "--workdir", str(tmp_path / "run")]
    before = torch.get_num_threads()
    try:
        assert main([*argv, "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(before)
    lines = [line for line in capsys.readouterr().out.splitlines() if "iteration" in line]
    pattern = re.compile(
        r"^iteration (\d)/3 loss [\d.]+ .* events/s, elapsed \d+:\d\d:\d\d, ETA \d+:\d\d:\d\d$"
    )
    assert [pattern.match(line)[1] for line in lines] == ["1", "2", "3"], lines
    assert lines[-1].endswith("ETA 0:00:00")


def test_michel_logs_progress(toy_file, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(INTERVAL_ENV, "0")
    events = toy_file("events.root", 6)
    argv = ["michel", "--events", str(events), "--truth", "--chunk", "2"]
    assert analysis_main([*argv, "--out", str(tmp_path / "m")]) == 0
    text = capsys.readouterr().out
    assert [int(m["done"]) for m in progress_lines(text, "michel")] == [2, 4]
    assert "michel: done, 6 events in" in text
    assert re.search(r"wrote .*m: 6 events, \d+ candidates \(\d+ matched\)", text)
