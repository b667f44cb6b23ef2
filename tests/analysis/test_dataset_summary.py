"""Dataset summary: counts, class fractions, relabeled fractions, and the command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from analysis.cli import main
from analysis.dataset_summary import summarise_split
from lartpc_seg.io.events import FileMeta, write_events
from lartpc_seg.labels import Label

H, M, S, D, MI = (int(c) for c in Label)


@pytest.fixture
def files(tmp_path: Path, line_event) -> dict[str, list[Path]]:
    """train: two files, one event each (7 and 5 voxels); test: one file, one 3-voxel event."""
    meta = FileMeta(grid=16, source="test")
    train = [tmp_path / "train" / "0.root", tmp_path / "train" / "1.root"]
    test = [tmp_path / "test" / "0.root"]
    # One of two Michel voxels and the only delta voxel become shower in event 0.
    write_events(train[0], [line_event(0, [M, M, M, MI, MI, D, S], [M, M, M, MI, S, S, S])], meta)
    write_events(train[1], [line_event(1, [H, H, M, MI, MI], [H, H, M, MI, MI])], meta)
    write_events(test[0], [line_event(0, [M, M, S], [M, M, S])], meta)
    return {"train": train, "test": test}


def test_summarise_split_by_hand(files):
    s = summarise_split("train", files["train"])
    assert s.n_events == 2 and s.n_voxels == 12
    np.testing.assert_array_equal(s.voxels_per_event, [7, 5])
    np.testing.assert_allclose(s.label_fractions(), np.array([2, 4, 1, 1, 4]) / 12)
    np.testing.assert_allclose(s.relabel_fractions(), np.array([2, 4, 3, 0, 3]) / 12)
    assert s.relabeled_fraction(Label.MICHEL) == pytest.approx(0.25)
    assert s.relabeled_fraction(Label.DELTA) == pytest.approx(1.0)
    assert s.transitions[MI, S] == 1 and s.transitions[MI, MI] == 3


def test_cli_infers_splits_from_folders(files, tmp_path):
    out = tmp_path / "results" / "tables" / "dataset"
    plots = tmp_path / "results" / "plots"
    argv = [
        "dataset-summary",
        "--events",
        *map(str, files["train"] + files["test"]),
        "--out",
        str(out),
        "--plots",
        str(plots),
    ]
    assert main(argv) == 0
    with open(out.with_name("dataset.csv")) as f:
        reader = csv.DictReader(f)
        rows = {r["split"]: r for r in reader}
    assert list(rows) == ["train", "test"]
    assert reader.fieldnames[:5] == [
        "split",
        "n_events",
        "n_voxels",
        "voxels_per_event_mean",
        "voxels_per_event_median",
    ]
    train, test = rows["train"], rows["test"]
    assert int(train["n_events"]) == 2 and float(train["voxels_per_event_median"]) == 6.0
    assert float(train["label_michel_pct"]) == pytest.approx(100 * 4 / 12)
    assert float(train["relabel_shower_pct"]) == pytest.approx(100 * 3 / 12)
    assert float(train["michel_to_shower_pct"]) == pytest.approx(25.0)
    assert float(train["delta_to_shower_pct"]) == pytest.approx(100.0)
    assert test["michel_to_shower_pct"] == "" and test["delta_to_shower_pct"] == ""

    md = out.with_name("dataset.md").read_text()
    assert "| Michel voxels relabeled shower [%] | 25.0 | — |" in md
    assert "| Events | 2 | 1 |" in md
    payload = json.loads(out.with_name("dataset.json").read_text())
    assert payload["splits"]["test"]["michel_to_shower"] is None
    assert payload["splits"]["train"]["transitions"][D] == [0, 0, 1, 0, 0]
    assert (plots / "class_fractions.png").stat().st_size > 10_000


def test_cli_explicit_split_and_bad_file(files, tmp_path, capsys):
    out = tmp_path / "dataset"
    joined = ",".join(map(str, files["train"]))
    assert main(["dataset-summary", "--split", f"all={joined}", "--out", str(out)]) == 0
    assert json.loads(out.with_name("dataset.json").read_text())["splits"]["all"]["n_events"] == 2
    missing = tmp_path / "nope.root"
    assert main(["dataset-summary", "--events", str(missing), "--out", str(out)]) == 1
    assert str(missing) in capsys.readouterr().err
