"""Training curves: reading and checking the logs, and the figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.cli import main
from analysis.curves import LOG_COLUMNS, read_log, running_mean
from lartpc_seg.errors import InputError


def _write_log(path: Path, *, n_train: int = 50, every_val: int = 10, drop: str = "") -> Path:
    """A synthetic log: loss 1/(1 + it/100), accuracies rising to 1, Michel absent at it 0."""
    columns = [c for c in LOG_COLUMNS if c != drop]
    lines = [",".join(columns)]
    for it in range(0, n_train * 10, 10):
        phases = ["train"] + (["val"] if it % (every_val * 10) == 0 else [])
        for phase in phases:
            acc = 1.0 - 0.5 / (1.0 + it / 100.0)
            values = {
                "iteration": str(it),
                "phase": phase,
                "loss": f"{1.0 / (1.0 + it / 100.0):.6f}",
                "acc_hip": f"{acc:.4f}",
                "acc_mip": f"{acc:.4f}",
                "acc_shower": f"{acc:.4f}",
                "acc_delta": f"{acc:.4f}",
                "acc_michel": "nan" if it == 0 else f"{acc:.4f}",
                "events_per_s": "12.5",
            }
            lines.append(",".join(values[c] for c in columns))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_read_log_splits_phases(tmp_path):
    log = read_log(_write_log(tmp_path / "regular" / "log.csv"))
    assert log.variant == "regular"
    assert len(log.train["iteration"]) == 50
    np.testing.assert_array_equal(log.val["iteration"], [0, 100, 200, 300, 400])
    assert log.train["loss"][10] == pytest.approx(0.5)
    assert np.isnan(log.val["acc_michel"][0]) and log.val["acc_michel"][1] == pytest.approx(0.75)


def test_log_of_the_old_mixed_case_header_reads_the_same(tmp_path):
    new = _write_log(tmp_path / "new" / "log.csv")
    old = tmp_path / "old" / "log.csv"
    old.parent.mkdir()
    header, rest = new.read_text().split("\n", 1)
    assert "acc_hip" in header and "acc_mip" in header
    old.write_text(header.replace("acc_hip", "acc_HIP").replace("acc_mip", "acc_MIP") + "\n" + rest)
    a, b = read_log(new), read_log(old)
    for phase in ("train", "val"):
        for column, values in getattr(a, phase).items():
            np.testing.assert_array_equal(getattr(b, phase)[column], values)


def test_missing_column_names_file_and_column(tmp_path):
    path = _write_log(tmp_path / "weighted" / "log.csv", drop="acc_delta")
    with pytest.raises(InputError) as err:
        read_log(path)
    assert err.value.field == "acc_delta" and str(path) in str(err.value)


def test_bad_phase_and_bad_number_are_input_errors(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(",".join(LOG_COLUMNS) + "\n0,test,1,1,1,1,1,1,1\n")
    with pytest.raises(InputError, match="line 2: phase 'test'"):
        read_log(path)
    path.write_text(",".join(LOG_COLUMNS) + "\n0,train,abc,1,1,1,1,1,1\n")
    with pytest.raises(InputError, match="'abc' is not a number") as err:
        read_log(path)
    assert err.value.field == "loss"


def test_running_mean_trailing_window_ignores_nan():
    out = running_mean(np.array([1.0, 3.0, np.nan, 5.0]), 2)
    np.testing.assert_allclose(out, [1.0, 2.0, 3.0, 5.0])
    np.testing.assert_array_equal(running_mean(np.array([1.0, 2.0]), 1), [1.0, 2.0])


@pytest.mark.slow
def test_cli_draws_all_variants(tmp_path):
    logs = [_write_log(tmp_path / v / "log.csv") for v in ("regular", "relabeled", "weighted")]
    out = tmp_path / "plots" / "curves.png"
    argv = ["curves", "--out", str(out), "--smooth", "5"]
    for path in logs:
        argv += ["--log", f"{path.parent.name}={path}"]
    assert main(argv) == 0
    assert out.stat().st_size > 20_000
    assert not list(out.parent.glob(".*tmp*"))


def test_cli_missing_column_exits_1(tmp_path, capsys):
    path = _write_log(tmp_path / "regular" / "log.csv", drop="phase")
    assert main(["curves", "--log", str(path), "--out", str(tmp_path / "c.png")]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "field 'phase'" in err
    assert not (tmp_path / "c.png").exists()
