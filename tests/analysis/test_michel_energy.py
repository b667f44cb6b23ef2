"""Michel energy response per bin, the calibration fitted on training events, and their tables."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analysis.cli import main
from analysis.michel.calibration import (
    Calibration,
    fit_calibration,
    read_calibration,
    write_calibration,
)
from analysis.michel.energy import median_interval, response, within_target
from analysis.michel.energy_outputs import energy_rows, energy_summary
from lartpc_seg.errors import InputError

REPO = Path(__file__).resolve().parents[2]


def test_response_per_bin_matches_hand_computed_quantiles():
    # bin 15-20 MeV: ratios 0.9, 1.0, 1.1; bin 20-25: ratios 0.5 and 0.7; 40 MeV: 1.2
    dep = np.array([16.0, 17.0, 18.0, 21.0, 22.0, 40.0, np.nan, 0.0])
    reco = dep * np.array([0.9, 1.0, 1.1, 0.5, 0.7, 1.2, 1.0, 1.0])
    t = response(dep, reco, edges=np.array([15.0, 20.0, 25.0, 45.0]))
    np.testing.assert_array_equal(t["n"], [3, 2, 1])
    np.testing.assert_allclose(t["median"], [1.0, 0.6, 1.2])
    # numpy's linear quantiles: 3 values, q=0.16 sits at 0.32 of the way from 0.9 to 1.0,
    # q=0.84 at 0.68 from 1.0 to 1.1; 2 values: 0.5 + 0.16·0.2 and 0.5 + 0.84·0.2
    np.testing.assert_allclose(t["q16"], [0.932, 0.532, 1.2])
    np.testing.assert_allclose(t["q84"], [1.068, 0.668, 1.2])
    np.testing.assert_allclose(t["sigma68"], [0.068, 0.068, 0.0], atol=1e-12)


def test_median_interval_is_the_order_statistics_around_the_median():
    # n = 25: ranks 12.5 ∓ 0.98·5 = 7.6 and 17.4 → the 7th and 18th smallest values
    values = np.arange(1.0, 26.0)[::-1]
    assert median_interval(values) == (7.0, 18.0)
    # n = 8: ranks 4 ∓ 2.77 → 1st and 7th; n = 7: 3.5 − 2.59 rounds down to rank 0, outside
    assert median_interval(np.arange(8.0)) == (0.0, 6.0)
    assert all(np.isnan(median_interval(np.arange(7.0))))


def test_empty_bins_are_nan_and_fail_the_target():
    t = response(np.array([17.0, 22.0]), np.array([17.0, 22.0]), edges=np.arange(15.0, 50.0, 5))
    assert np.isnan(t["median"][2]) and t["n"][2] == 0
    assert not within_target(t)


def test_target_is_five_percent_in_every_bin_from_15_to_45():
    dep = np.arange(15.5, 45.0, 1.0)
    ok = response(dep, 1.049 * dep)
    assert within_target(ok)
    off = response(dep, np.where(dep > 40, 1.06, 1.0) * dep)
    assert not within_target(off)
    # outside 15-45 MeV nothing counts
    wide = np.concatenate([dep, [5.0, 50.0]])
    assert within_target(response(wide, np.concatenate([dep, [10.0, 20.0]])))


def test_calibration_inverts_the_median_response():
    # reco/dep falls from 1 at 10 MeV to 0.6 at 50 MeV (monotone reco), 21 candidates per bin:
    # after the fit, every bin's median ratio is 1
    rng = np.random.default_rng(1)
    dep = np.concatenate([rng.uniform(lo, lo + 5, 21) for lo in range(10, 50, 5)])
    reco = dep * (1.0 - 0.01 * (dep - 10.0)) * rng.normal(1.0, 0.02, len(dep))
    cal = fit_calibration(reco, dep)
    assert len(cal.raw) == 8 and all(np.diff(cal.raw) > 0)
    t = response(dep, cal(reco), edges=np.arange(10.0, 50.1, 5.0))
    np.testing.assert_allclose(t["median"], 1.0, atol=0.02)
    assert within_target(t)
    # one factor cannot do it: the best single scale leaves a bin outside ±5 %
    factor = np.median(dep / reco)
    assert not within_target(response(dep, factor * reco))


def test_calibration_points_and_extrapolation():
    cal = Calibration(raw=(10.0, 20.0), dep=(20.0, 30.0))
    np.testing.assert_allclose(cal(np.array([5.0, 10.0, 15.0, 20.0, 40.0])), [10, 20, 25, 30, 60])
    assert np.isnan(cal(np.array([np.nan]))[0])


def test_calibration_needs_enough_candidates_in_a_bin():
    with pytest.raises(ValueError, match="no bin of deposited energy has 10"):
        fit_calibration(np.full(9, 10.0), np.full(9, 12.0))
    cal = fit_calibration(np.full(10, 10.0), np.full(10, 12.0))
    assert cal.raw == (10.0,) and cal.dep == (12.0,)


def test_calibration_is_fitted_from_its_inputs_only(tmp_path: Path):
    # the fit reads the train candidates and nothing else: the file is the same whatever
    # test energies are calibrated with it afterwards, and calibrating does not rewrite it
    rng = np.random.default_rng(2)
    dep = rng.uniform(10, 50, 200)
    reco = 0.7 * dep
    path = tmp_path / "cal.json"
    cal = write_calibration(path, reco, dep, [Path("data/train/0.root")], "paper's candidates")
    before = path.read_bytes()
    for test_raw in (np.array([5.0, 30.0]), np.array([100.0])):
        read_calibration(path)(test_raw)
    assert path.read_bytes() == before
    assert read_calibration(path) == cal
    payload = json.loads(before)
    assert payload["sources"] == ["data/train/0.root"] and payload["n_candidates"] == 200


def test_bad_calibration_files_are_input_errors(tmp_path: Path):
    for text in ('{"factor": 2}', '{"raw": [2, 1], "dep": [1, 2]}', '{"raw": [1], "dep": [-1]}'):
        path = tmp_path / "c.json"
        path.write_text(text)
        with pytest.raises(InputError):
            read_calibration(path)


def test_workflow_fits_the_calibration_on_training_events_only(tmp_path: Path):
    # dry run of the default study: the calibration jobs read training shards and the
    # variant's predictions on them, never a test shard; the Michel jobs read the calibration
    snakemake = Path(sys.executable).with_name("snakemake")
    proc = subprocess.run(
        [
            str(snakemake),
            "-n",
            "-p",
            "--cores",
            "2",
            "--configfile",
            str(REPO / "config.yaml"),
            "--directory",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    calib = re.findall(r"python -m analysis michel-calibration .*", out)
    infer = re.findall(r"python -m lartpc_seg infer .*--out results/calibration/.*", out)
    assert len(calib) == 4 and len(infer) >= 3  # regular, relabeled, weighted, truth
    for line in calib + infer:
        assert "data/test" not in line and "results/predictions" not in line, line
        assert "data/train/" in line, line
    michel = re.findall(r"python -m analysis michel --events .*", out)
    assert michel and all("--calibration results/michel/" in line for line in michel)


def test_energy_summary_and_table_rows(tmp_path: Path):
    candidates = {
        "candidate": np.array([True, True, True, False]),
        "matched": np.array([True, True, False, True]),
        "e_true_edep": np.array([17.0, 18.0, np.nan, 19.0]),
        "e_reco_raw": np.array([17.0, 36.0, 5.0, 19.0]),
        "e_reco": np.array([17.0, 18.0, 5.0, 19.0]),
    }
    summary = energy_summary(candidates, "relabeled", calibrated=True)
    raw, cal = summary["scales"]["raw"], summary["scales"]["calibrated"]
    b = raw["e_lo"].index(15.0)
    assert raw["n"][b] == 2 and raw["median"][b] == pytest.approx(1.5)
    assert cal["median"][b] == pytest.approx(1.0)
    path = tmp_path / "energy.json"
    path.write_text(json.dumps(summary))
    rows = energy_rows("relabeled", summary, path)
    assert len(rows) == 2 * len(raw["e_lo"])
    assert {r["scale"] for r in rows} == {"raw", "calibrated"}
    assert (
        main(["michel-energy-table", "--energy", f"relabeled={path}", "--out", str(tmp_path / "t")])
        == 0
    )
    header = (tmp_path / "t.csv").read_text().splitlines()[0]
    assert header == "variant,scale,e_lo,e_hi,n,median,median_lo,median_hi,q16,q84,sigma68"
    md = (tmp_path / "t.md").read_text()
    assert "| relabeled | calibrated | 15.000 | 20.000 | 2 | 1.000 |  |  |" in md  # n < 8
    assert (tmp_path / "t.html").exists() and (tmp_path / "t.tex").exists()
