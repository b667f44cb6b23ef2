"""Per-class accuracy, confusion counts, bootstrap intervals and the ``accuracy`` command."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from analysis.accuracy.confusion import confusion_counts, per_event_confusion, row_normalised
from analysis.accuracy.statistics import bootstrap_interval, per_class_accuracy
from analysis.bootstrap import percentile_interval, resampled_totals
from analysis.cli import main
from lartpc_seg.io.events import FileMeta, write_events
from lartpc_seg.io.predictions import Prediction, write_predictions
from lartpc_seg.labels import Label

H, M, S, D, MI = (int(c) for c in Label)


def _prediction(number: int, pred: np.ndarray) -> Prediction:
    pred = np.asarray(pred, np.int8)
    scores = np.eye(5, dtype=np.float32)[pred]
    return Prediction(event=number, pred=pred, scores=scores)


# Every event: 6 MIP, 4 shower, 2 delta, 2 Michel (no HIP). Relabeling turns the first delta
# and the first Michel voxel into shower.
LABEL = np.array([M] * 6 + [S] * 4 + [D, D, MI, MI])
RELABEL = np.array([M] * 6 + [S] * 4 + [S, D, S, MI])
# regular: right on the original labels except the first Michel voxel (→ shower);
# relabeled: exactly the relabeled labels; weighted: relabeled but 3 of 6 MIP voxels → HIP.
PRED_REGULAR = np.array([M] * 6 + [S] * 4 + [D, D, S, MI])
PRED_RELABELED = RELABEL.copy()
PRED_WEIGHTED = np.array([M] * 3 + [H] * 3 + [S] * 4 + [S, D, S, MI])


@pytest.fixture
def dataset(tmp_path: Path, line_event) -> dict[str, list[Path]]:
    """Two event files (events 0, 1, 2 and 10, 11) and three aligned prediction variants."""
    numbers = [[0, 1, 2], [10, 11]]
    meta = FileMeta(grid=16, source="test")
    files: dict[str, list[Path]] = {"events": [], "regular": [], "relabeled": [], "weighted": []}
    preds = {"regular": PRED_REGULAR, "relabeled": PRED_RELABELED, "weighted": PRED_WEIGHTED}
    for i, group in enumerate(numbers):
        path = tmp_path / "events" / f"{i}.root"
        write_events(path, [line_event(n, LABEL, RELABEL) for n in group], meta)
        files["events"].append(path)
        for variant, pred in preds.items():
            ppath = tmp_path / "pred" / variant / f"{i}.root"
            write_predictions(ppath, [_prediction(n, pred) for n in group], meta)
            files[variant].append(ppath)
    return files


def test_confusion_counts_by_hand():
    true = np.array([0, 0, 1, 4, 4, 4])
    pred = np.array([0, 1, 1, 4, 2, 4])
    counts = confusion_counts(true, pred)
    assert counts.dtype == np.int64 and counts.shape == (5, 5)
    assert counts[0, 0] == 1 and counts[0, 1] == 1 and counts[1, 1] == 1
    assert counts[4, 4] == 2 and counts[4, 2] == 1
    assert counts.sum() == 6


def test_per_event_confusion_sums_to_whole():
    rng = np.random.default_rng(1)
    sizes = np.array([5, 0, 17, 3])
    true = rng.integers(0, 5, sizes.sum())
    pred = rng.integers(0, 5, sizes.sum())
    per_event = per_event_confusion(true, pred, sizes)
    assert per_event.shape == (4, 5, 5)
    assert per_event[1].sum() == 0
    np.testing.assert_array_equal(per_event.sum(axis=0), confusion_counts(true, pred))
    np.testing.assert_array_equal(per_event[2], confusion_counts(true[5:22], pred[5:22]))


def test_half_wrong_class_is_fifty_percent_and_absent_class_nan():
    # Three events; the Michel voxels are half mispredicted overall, HIP never appears.
    events = [
        (np.array([M, M, MI, MI]), np.array([M, M, MI, S])),
        (np.array([S, MI, MI]), np.array([S, S, MI])),
        (np.array([M, MI]), np.array([M, MI])),
    ]
    counts = sum(confusion_counts(t, p) for t, p in events)
    acc = per_class_accuracy(counts)
    assert np.isnan(acc[H])
    assert acc[M] == pytest.approx(1.0)
    assert acc[S] == pytest.approx(1.0)
    assert acc[MI] == pytest.approx(3 / 5)
    half = per_class_accuracy(confusion_counts([MI, MI, D, D], [MI, S, D, M]))
    assert half[MI] == pytest.approx(0.5) and half[D] == pytest.approx(0.5)


def test_row_normalised_rows_sum_to_one_or_nan():
    counts = confusion_counts([1, 1, 1, 4], [1, 2, 1, 4])
    frac = row_normalised(counts)
    assert frac[1, 1] == pytest.approx(2 / 3)
    np.testing.assert_allclose(frac[[1, 4]].sum(axis=1), 1.0)
    assert np.isnan(frac[0]).all()


def test_bootstrap_interval_contains_estimate_and_shrinks_with_events():
    rng = np.random.default_rng(7)

    def sample(n_events: int) -> np.ndarray:
        # 50 Michel voxels per event, each right with probability 0.8.
        right = rng.binomial(50, 0.8, n_events)
        counts = np.zeros((n_events, 5, 5), np.int64)
        counts[:, MI, MI] = right
        counts[:, MI, S] = 50 - right
        counts[:, M, M] = 100
        return counts

    widths = []
    for n_events in (20, 2000):
        counts = sample(n_events)
        point = per_class_accuracy(counts.sum(axis=0))
        lo, hi = bootstrap_interval(counts, np.random.default_rng(0), 500)
        assert lo[MI] <= point[MI] <= hi[MI]
        assert np.isnan(lo[H]) and np.isnan(hi[H])
        assert lo[M] == hi[M] == pytest.approx(1.0)
        widths.append(hi[MI] - lo[MI])
    # The width scales as 1/sqrt(events): a factor 10 here; ask for at least 5.
    assert widths[1] < widths[0] / 5
    # Binomial width for 20 events × 50 voxels at p = 0.8: 2 × 1.96 × sqrt(0.16/1000) ≈ 0.050.
    assert widths[0] == pytest.approx(0.050, rel=0.35)


def test_bootstrap_is_reproducible_and_resamples_whole_events():
    counts = np.zeros((3, 5, 5), np.int64)
    counts[:, M, M] = [1, 2, 3]
    a = np.concatenate(list(resampled_totals(counts, np.random.default_rng(3), 300)))
    b = np.concatenate(list(resampled_totals(counts, np.random.default_rng(3), 300)))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (300, 5, 5)
    # Each resample is 3 events drawn from {1, 2, 3}: totals between 3 and 9.
    assert a[:, M, M].min() >= 3 and a[:, M, M].max() <= 9
    assert np.isclose(a[:, M, M].mean(), 6.0, atol=0.2)


def test_percentile_interval_all_nan_is_nan():
    samples = np.array([[np.nan, 1.0], [np.nan, 3.0], [np.nan, np.nan]])
    lo, hi = percentile_interval(samples, 0.5)
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    assert lo[1] == pytest.approx(1.5) and hi[1] == pytest.approx(2.5)


def _run_cli(dataset: dict[str, list[Path]], out: Path, *extra: str) -> int:
    def joined(variant: str) -> str:
        return f"{variant}=" + ",".join(str(p) for p in dataset[variant])

    return main(
        [
            "accuracy",
            "--events",
            *map(str, dataset["events"]),
            "--predictions",
            joined("regular"),
            "--predictions",
            joined("relabeled"),
            "--predictions",
            joined("weighted"),
            "--out",
            str(out / "tables" / "accuracy"),
            *extra,
        ]
    )


@pytest.mark.slow
def test_cli_end_to_end(dataset, tmp_path):
    out = tmp_path / "results"
    args = [
        "--column", "regular_regular=regular:label",
        "--column", "regular_relabeled=regular:relabel",
        "--column", "relabeled_relabeled=relabeled:relabel",
        "--column", "weighted_relabeled=weighted:relabel",
        "--plots", str(out / "plots"), "--bootstrap", "200",
    ]  # fmt: skip
    assert _run_cli(dataset, out, *args) == 0

    with open(out / "tables" / "accuracy.csv") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    keys = ["regular_regular", "regular_relabeled", "relabeled_relabeled", "weighted_relabeled"]
    assert reader.fieldnames == ["class"] + [f"{k}{s}" for k in keys for s in ("", "_lo", "_hi")]
    assert [r["class"] for r in rows] == [c.title for c in Label]
    by_class = {r["class"]: r for r in rows}
    # HIP has no true voxel: empty cells in the CSV.
    assert by_class["HIP"]["regular_regular"] == ""
    assert float(by_class["Michel electrons"]["regular_regular"]) == pytest.approx(50.0)
    assert float(by_class["Michel electrons"]["regular_relabeled"]) == pytest.approx(100.0)
    assert float(by_class["EM shower"]["regular_relabeled"]) == pytest.approx(100 * 25 / 30)
    assert float(by_class["Delta rays"]["regular_relabeled"]) == pytest.approx(100.0)
    assert float(by_class["MIP"]["weighted_relabeled"]) == pytest.approx(50.0)
    for c in Label:
        if c == Label.HIP:
            continue
        assert float(by_class[c.title]["relabeled_relabeled"]) == pytest.approx(100.0)
    # Identical events: every resample gives the same accuracy, the interval has zero width.
    assert float(by_class["MIP"]["weighted_relabeled_lo"]) == pytest.approx(50.0)
    assert float(by_class["MIP"]["weighted_relabeled_hi"]) == pytest.approx(50.0)

    md = (out / "tables" / "accuracy.md").read_text()
    assert "| HIP | — |" in md
    assert "50.0 [50.0, 50.0]" in md
    assert "Relabeled + weighting → Relabeled (paper)" in md and "56.6" in md
    tex = (out / "tables" / "accuracy.tex").read_text()
    assert r"\begin{tabular}" in tex and "56.6" in tex

    payload = json.loads((out / "tables" / "accuracy.json").read_text())
    column = payload["columns"]["regular_regular"]
    assert column["n_events"] == 5 and column["n_voxels"] == 5 * 14
    assert column["n_voxels_per_class"] == [0, 30, 20, 10, 10]
    assert column["confusion"][MI] == [0, 0, 5, 0, 5]
    assert column["accuracy"][H] is None
    assert column["accuracy"][MI] == pytest.approx(0.5)
    assert payload["columns"]["regular_relabeled"]["n_voxels_per_class"] == [0, 30, 30, 5, 5]
    for key in keys:
        png = out / "plots" / f"confusion_{key}.png"
        assert png.stat().st_size > 10_000


def test_cli_default_columns_without_bootstrap(dataset, tmp_path):
    out = tmp_path / "results"
    assert _run_cli(dataset, out, "--bootstrap", "0") == 0
    payload = json.loads((out / "tables" / "accuracy.json").read_text())
    assert list(payload["columns"]) == [
        "regular_regular",
        "regular_relabeled",
        "relabeled_relabeled",
        "weighted_relabeled",
    ]
    assert payload["columns"]["weighted_relabeled"]["accuracy_lo"][M] is None
    assert "50.0 |" in (out / "tables" / "accuracy.md").read_text()


def test_cli_misaligned_predictions_exit_1_naming_the_file(dataset, tmp_path, capsys):
    bad = tmp_path / "pred" / "weighted" / "1.root"
    write_predictions(bad, [_prediction(n, PRED_WEIGHTED) for n in (10, 12)], FileMeta(grid=16))
    assert _run_cli(dataset, tmp_path / "results", "--bootstrap", "0") == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("error: ") and str(bad) in err and "event 12" in err
    assert not (tmp_path / "results" / "tables" / "accuracy.csv").exists()


def test_cli_wrong_number_of_prediction_files_exit_1(dataset, tmp_path, capsys):
    dataset["regular"] = dataset["regular"][:1]
    assert _run_cli(dataset, tmp_path / "results") == 1
    err = capsys.readouterr().err
    assert "variant 'regular' has 1 prediction files but 2 event files" in err


def test_cli_column_with_unknown_variant_exit_1(dataset, tmp_path, capsys):
    column = ["--column", "x=nosuch:relabel"]
    assert _run_cli(dataset, tmp_path / "results", *column) == 1
    err = capsys.readouterr().err
    assert "field '--column'" in err and "variant 'nosuch'" in err
