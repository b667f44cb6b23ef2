"""Results over training seeds: mean, spread and gap against hand-computed numbers."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from analysis.accuracy.seeds import common_seeds
from analysis.cli import main
from analysis.michel import table as michel_table
from analysis.seeds import mean_sd_cell, over_seeds, split_seed
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import FileMeta, write_events
from lartpc_seg.io.predictions import Prediction, write_predictions
from lartpc_seg.labels import Label

H, M, S, D, MI = (int(c) for c in Label)

# Every event: 6 MIP, 4 shower, 2 delta, 2 Michel. Relabeling turns the first Michel voxel
# into shower, so the relabeled labels have one Michel voxel per event.
LABEL = np.array([M] * 6 + [S] * 4 + [D, D, MI, MI])
RELABEL = np.array([M] * 6 + [S] * 4 + [D, D, S, MI])
#: Predictions by (variant, seed). Seed 5 (given first): the regular network misses the first
#: Michel voxel (Reg→Reg Michel 50 %), the relabeled one is right (Rel→Rel 100 %): gap 50.
#: Seed 3: both right on their labels: Reg→Reg 100 %, Rel→Rel 100 %, gap 0.
PREDICTIONS = {
    ("regular", 5): np.array([M] * 6 + [S] * 4 + [D, D, S, MI]),
    ("relabeled", 5): RELABEL,
    ("regular", 3): LABEL,
    ("relabeled", 3): RELABEL,
}


def test_over_seeds_by_hand():
    stats = over_seeds([80.0, 84.0, 82.0])
    assert stats.n == 3
    assert float(stats.mean) == pytest.approx(82.0)
    # squares about the mean: 4 + 4 + 0 = 8, over n - 1 = 2: sd = 2
    assert float(stats.sd) == pytest.approx(2.0)
    assert (float(stats.min), float(stats.max)) == (80.0, 84.0)


def test_over_seeds_leaves_out_undefined_values():
    stats = over_seeds(np.array([[1.0, np.nan, 5.0], [3.0, np.nan, np.nan]]))
    np.testing.assert_allclose(stats.mean, [2.0, np.nan, 5.0])
    np.testing.assert_allclose(stats.sd, [math.sqrt(2.0), np.nan, np.nan])  # one value: no sd
    np.testing.assert_allclose(stats.min, [1.0, np.nan, 5.0])
    np.testing.assert_allclose(stats.max, [3.0, np.nan, 5.0])


def test_mean_sd_cell():
    assert mean_sd_cell(81.25, 1.04) == "81.2 ± 1.0"
    assert mean_sd_cell(81.0, math.nan) == "81.0"
    assert mean_sd_cell(math.nan, math.nan) == ""


def test_split_seed():
    assert split_seed("relabeled@20190314", "--x") == ("relabeled", 20190314)
    assert split_seed("relabeled", "--x") == ("relabeled", None)
    with pytest.raises(InputError, match="VARIANT@SEED"):
        split_seed("relabeled@-1", "--x")


def test_common_seeds_refuses_different_seeds_per_variant():
    assert common_seeds({"a": [5, 3], "b": [5, 3]}) == [5, 3]
    with pytest.raises(InputError, match="same seeds"):
        common_seeds({"a": [5, 3], "b": [5]})
    with pytest.raises(InputError, match="given twice"):
        common_seeds({"a": [5, 5]})


@pytest.fixture
def seeded(tmp_path: Path, line_event) -> dict:
    """Two event files (events 0, 1 and 7) and predictions of two variants and two seeds."""
    meta = FileMeta(grid=16, source="test")
    files: dict = {"events": []}
    for i, group in enumerate([[0, 1], [7]]):
        path = tmp_path / "events" / f"{i}.root"
        write_events(path, [line_event(n, LABEL, RELABEL) for n in group], meta)
        files["events"].append(path)
        for (variant, seed), pred in PREDICTIONS.items():
            ppath = tmp_path / "pred" / variant / f"seed-{seed}" / f"{i}.root"
            scores = np.eye(5, dtype=np.float32)[pred]
            records = [Prediction(event=n, pred=pred.astype(np.int8), scores=scores) for n in group]
            write_predictions(ppath, records, meta)
            files.setdefault((variant, seed), []).append(ppath)
    return files


def _accuracy(files: dict, out: Path, seeds: list[int | None], *extra: str) -> int:
    options = []
    for variant in ("regular", "relabeled"):
        for seed in seeds:
            name = variant if seed is None else f"{variant}@{seed}"
            paths = ",".join(map(str, files[(variant, seed if seed is not None else 5)]))
            options += ["--predictions", f"{name}={paths}"]
    return main(
        [
            "accuracy",
            "--events",
            *map(str, files["events"]),
            *options,
            "--column",
            "regular_regular=regular:label",
            "--column",
            "relabeled_relabeled=relabeled:relabel",
            "--bootstrap",
            "50",
            "--out",
            str(out / "accuracy"),
            *extra,
        ]
    )


def test_accuracy_over_two_seeds(seeded, tmp_path):
    out = tmp_path / "tables"
    assert _accuracy(seeded, out, [5, 3], "--gap", str(out / "seed_gap")) == 0
    with open(out / "accuracy.csv") as f:
        reader = csv.DictReader(f)
        rows = {r["class"]: r for r in reader}
    stats = ("", "_lo", "_hi", "_mean", "_sd", "_min", "_max")
    assert reader.fieldnames == ["class"] + [
        f"{k}{s}" for k in ("regular_regular", "relabeled_relabeled") for s in stats
    ]
    michel = rows[Label.MICHEL.title]
    # the value is the first seed given (5): 50 %; over seeds 50 and 100
    assert float(michel["regular_regular"]) == pytest.approx(50.0)
    assert float(michel["regular_regular_mean"]) == pytest.approx(75.0)
    assert float(michel["regular_regular_sd"]) == pytest.approx(math.sqrt(2 * 25.0**2))
    assert float(michel["regular_regular_min"]) == pytest.approx(50.0)
    assert float(michel["regular_regular_max"]) == pytest.approx(100.0)
    assert float(michel["relabeled_relabeled_sd"]) == pytest.approx(0.0)
    assert rows[Label.HIP.title]["regular_regular_mean"] == ""  # no HIP voxel: undefined
    md = (out / "accuracy.md").read_text()
    assert "Regular → Regular: mean ± sd, 2 seeds" in md
    assert "| 50.0 [50.0, 50.0] | 75.0 ± 35.4 |" in md
    assert "training seed 5, the first of the 2 seeds (5, 3)" in md
    payload = json.loads((out / "accuracy.json").read_text())
    assert payload["training_seed"] == 5
    block = payload["training_seeds"]
    assert block["seeds"] == [5, 3] and block["spread"].startswith("sample standard deviation")
    column = block["columns"]["regular_regular"]
    assert column["per_seed"]["3"]["accuracy"][MI] == pytest.approx(1.0)
    assert column["mean"][MI] == pytest.approx(0.75)

    with open(out / "seed_gap.csv") as f:
        gaps = list(csv.DictReader(f))
    assert [g["seed"] for g in gaps] == ["5", "3"]
    assert float(gaps[0]["gap"]) == pytest.approx(50.0)
    assert float(gaps[1]["gap"]) == pytest.approx(0.0)
    # identical events: every resample gives the same gap, a zero-width paired interval
    assert float(gaps[0]["gap_lo"]) == pytest.approx(50.0)
    assert float(gaps[0]["gap_hi"]) == pytest.approx(50.0)
    gap_md = (out / "seed_gap.md").read_text()
    assert "| 5 | 50.0 [50.0, 50.0] | 100.0 [100.0, 100.0] | 50.0 [50.0, 50.0] |" in gap_md
    assert "| mean ± sd | 75.0 ± 35.4 | 100.0 ± 0.0 | 25.0 ± 35.4 |" in gap_md
    assert "| minimum | 50.0 | 100.0 | 0.0 |" in gap_md
    assert "| maximum | 100.0 | 100.0 | 50.0 |" in gap_md


def test_one_seed_keeps_the_layout(seeded, tmp_path):
    """A named single seed writes the same tables as unnamed predictions: no clutter."""
    named, bare = tmp_path / "named", tmp_path / "bare"
    assert _accuracy(seeded, named, [5]) == 0
    assert _accuracy(seeded, bare, [None]) == 0
    for suffix in (".csv", ".md", ".tex", ".html"):
        assert (named / f"accuracy{suffix}").read_text() == (bare / f"accuracy{suffix}").read_text()
    assert "mean" not in (named / "accuracy.csv").read_text()
    assert json.loads((named / "accuracy.json").read_text())["training_seed"] == 5


def test_accuracy_refuses_a_variant_missing_a_seed(seeded, tmp_path, capsys):
    files = dict(seeded)
    args = [
        "accuracy",
        "--events",
        *map(str, files["events"]),
        "--predictions",
        "regular@5=" + ",".join(map(str, files[("regular", 5)])),
        "--predictions",
        "regular@3=" + ",".join(map(str, files[("regular", 3)])),
        "--predictions",
        "relabeled@5=" + ",".join(map(str, files[("relabeled", 5)])),
        "--column",
        "regular_regular=regular:label",
        "--column",
        "relabeled_relabeled=relabeled:relabel",
        "--out",
        str(tmp_path / "accuracy"),
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "--predictions" in err and "same seeds" in err and "relabeled: [5]" in err


def _metrics(purity: float, candidates: int = 80) -> dict:
    entry = {"value": purity, "lo": purity - 0.01, "hi": purity + 0.01}
    return {
        "sample": 100,
        "counts": {"candidates": candidates, "true_clusters": 85},
        **{k: entry for k in michel_table.METRICS},
    }


def test_michel_table_over_three_seeds(tmp_path):
    inputs = []
    for seed, purity, candidates in ((7, 0.90, 80), (8, 0.96, 90), (9, 0.93, 70)):
        path = tmp_path / f"relabeled-{seed}.json"
        path.write_text(json.dumps(_metrics(purity, candidates)))
        inputs.append(f"relabeled@{seed}={path}")
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps(_metrics(0.99)))
    out = tmp_path / "michel"
    assert main(["michel-table", "--metrics", *inputs, f"truth={truth}", "--out", str(out)]) == 0
    with open(out.with_suffix(".csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["variant"] for r in rows] == ["relabeled", "truth"]
    relabeled, truth_row = rows
    # value, interval and counts: the first seed's (7)
    assert relabeled["seed"] == "7" and relabeled["seeds"] == "3"
    assert relabeled["candidates"] == "80"
    assert float(relabeled["id_purity"]) == pytest.approx(90.0)
    assert float(relabeled["id_purity_lo"]) == pytest.approx(89.0)
    # over 90, 96, 93: mean 93, squares 9 + 9 + 0 over 2: sd = 3
    assert float(relabeled["id_purity_mean"]) == pytest.approx(93.0)
    assert float(relabeled["id_purity_sd"]) == pytest.approx(3.0)
    assert float(relabeled["id_purity_min"]) == pytest.approx(90.0)
    assert float(relabeled["id_purity_max"]) == pytest.approx(96.0)
    assert truth_row["seeds"] == "1" and truth_row["id_purity_mean"] == ""
    md = out.with_suffix(".md").read_text()
    assert "| ID purity [%] | ID purity [%]: mean ± sd, 3 seeds |" in md
    assert "| 90.0 [89.0, 91.0] | 93.0 ± 3.0 |" in md
    assert "training seed 7, the first of the 3 seeds (7, 8, 9)" in md
    assert "paper (ACAT 2019)" in md


def test_michel_table_one_seed_keeps_the_layout(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(_metrics(0.95)))
    named, bare = tmp_path / "named", tmp_path / "bare"
    assert main(["michel-table", "--metrics", f"relabeled@7={path}", "--out", str(named)]) == 0
    assert main(["michel-table", "--metrics", f"relabeled={path}", "--out", str(bare)]) == 0
    for suffix in (".csv", ".md"):
        assert named.with_suffix(suffix).read_text() == bare.with_suffix(suffix).read_text()


def test_michel_table_refuses_a_run_given_twice(tmp_path, capsys):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(_metrics(0.95)))
    args = ["michel-table", "--metrics", f"a@1={path}", f"a@1={path}", "--out", str(tmp_path / "t")]
    assert main(args) == 1
    assert "'a@1' given twice" in capsys.readouterr().err


def _log(path: Path, loss: float) -> Path:
    """A two-row training log (one train, one validation row) with a constant loss."""
    from analysis.curves import LOG_COLUMNS

    values = {"loss": str(loss), "events_per_s": "1", "phase": "train", "iteration": "0"}
    rows = [",".join(LOG_COLUMNS)]
    for phase, it in (("train", 0), ("val", 10)):
        values |= {"phase": phase, "iteration": str(it)}
        rows.append(",".join(values.get(c, "0.5") for c in LOG_COLUMNS))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n")
    return path


def test_training_curves_show_every_seed(tmp_path, monkeypatch):
    """One colour per variant, one line style per seed, every (variant, seed) drawn."""
    from analysis import plotting
    from analysis.curves_command import parse_log

    figures = []
    monkeypatch.setattr(plotting, "save_figure", lambda fig, path: figures.append(fig) or path)
    argv = ["curves", "--out", str(tmp_path / "c.png")]
    for i, (variant, seed) in enumerate(PREDICTIONS):
        path = _log(tmp_path / variant / f"seed-{seed}" / "log.csv", 1.0 + i)
        assert parse_log(str(path)) == (variant, seed, path)  # the folders name both
        argv += ["--log", f"{variant}@{seed}={path}"]
    assert main(argv) == 0
    loss_ax = figures[0].axes[0]
    train_lines = [line for line in loss_ax.get_lines() if line.get_marker() in ("None", "")]
    styles = {(line.get_color(), line.get_linestyle()) for line in train_lines}
    assert len(train_lines) == 4 and len(styles) == 4
    assert {style for _, style in styles} == {"-", "--"}
    legend = [t.get_text() for t in loss_ax.get_legend().get_texts()]
    assert legend[:4] == ["regular", "relabeled", "seed 5", "seed 3"]


def test_readme_block_gives_the_spread_and_the_gap(tmp_path):
    tables = tmp_path / "results" / "tables"
    tables.mkdir(parents=True)
    (tables / "dataset.csv").write_text(
        "split,n_events,n_voxels,label_michel_pct,michel_to_shower_pct\ntest,50,1000,2.0,30.0\n"
    )
    (tables / "accuracy.csv").write_text(
        "class,relabeled_relabeled,relabeled_relabeled_lo,relabeled_relabeled_hi,"
        "relabeled_relabeled_mean,relabeled_relabeled_sd,relabeled_relabeled_min,"
        "relabeled_relabeled_max\nMichel electrons,92.4,90.0,94.0,91.0,1.5,89.5,92.4\n"
    )
    (tables / "michel.csv").write_text(
        "variant,seed,seeds,sample,id_purity,id_purity_lo,id_purity_hi,id_purity_mean,"
        "id_purity_sd\nrelabeled,7,3,400,97.0,95.0,98.5,96.0,1.0\n"
    )
    (tables / "seed_gap.csv").write_text(
        "seed,regular_regular,regular_regular_lo,regular_regular_hi,relabeled_relabeled,"
        "relabeled_relabeled_lo,relabeled_relabeled_hi,gap,gap_lo,gap_hi\n"
        "7,61.2,58.0,64.0,92.4,90.0,94.0,31.2,28.0,34.0\n"
    )
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:start -->\nold\n<!-- results:end -->\n")
    assert (
        main(["readme-results", "--results", str(tmp_path / "results"), "--readme", str(readme)])
        == 0
    )
    text = readme.read_text()
    assert "| Michel electrons | 92.4 [90.0, 94.0] (94.7); 91.0 ± 1.5 |" in text
    assert "| relabeled | 400 | 97.0 [95.0, 98.5]; 96.0 ± 1.0 |" in text
    assert "| 7 | 61.2 [58.0, 64.0] | 92.4 [90.0, 94.0] | 31.2 [28.0, 34.0] |" in text
    assert "mean ± sample standard deviation over the seeds" in text


def test_readme_figure_is_the_tables_seed(tmp_path):
    from analysis.readme_results import spectrum_figure

    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    (results / "tables" / "accuracy.json").write_text(json.dumps({"training_seed": 8}))
    assert spectrum_figure(results) == (
        results / "michel" / "relabeled" / "seed-8" / "michel_energy_spectra.png"
    )
