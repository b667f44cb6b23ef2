"""End to end: ``python -m analysis michel`` on a tiny event file and its predictions."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
import uproot

from analysis.cli import main
from lartpc_seg.io.events import Event, FileMeta, ParticleTable, write_events
from lartpc_seg.io.predictions import Prediction, write_predictions
from lartpc_seg.labels import Label, Process, relabel


def _box(x, y, z):
    return np.mgrid[x[0] : x[1] + 1, y[0] : y[1] + 1, z[0] : z[1] + 1].reshape(3, -1).T


def _event(number: int, pieces: list[tuple[np.ndarray, Label, float]]) -> Event:
    """Pieces of (coords, label, Michel KE): each track is a μ, each Michel an electron."""
    coords, labels, part = [], [], []
    pdg, parent, process, cls, ke, edep = [], [], [], [], [], []
    for xyz, label, energy in pieces:
        if label == Label.MIP:
            pdg.append(13), parent.append(-1), process.append(Process.primary)
            cls.append(Label.MIP), ke.append(100.0), edep.append(0.0)
        else:  # an electron from the previous muon
            proc = Process.Decay if label == Label.MICHEL else Process.muIoni
            pdg.append(11), parent.append(len(pdg) - 2), process.append(proc)
            cls.append(label), ke.append(energy), edep.append(MICHEL_EDEP)
        coords.append(xyz)
        labels.append(np.full(len(xyz), label, np.int8))
        part.append(np.full(len(xyz), len(pdg) - 1, np.int32))
    coords = np.concatenate(coords).astype(np.int32)
    label = np.concatenate(labels)
    n = len(pdg)
    zeros = np.zeros((n, 3), np.float32)
    particles = ParticleTable(
        np.array(pdg, np.int32),
        np.array(parent, np.int32),
        np.array(process, np.int8),
        np.array(cls, np.int8),
        np.array(ke, np.float32),
        zeros,
        zeros,
        np.array(edep, np.float32),
    )
    energy = np.where(label == Label.MIP, 1.0, 0.5).astype(np.float32)
    return Event(
        number, coords, energy, label, relabel(coords, label), np.concatenate(part), particles
    )


#: Energy each electron deposited itself (``part_edep``); its 40 voxels of 0.5 MeV sum to 20.
MICHEL_EDEP = 25.0


def _track(y):
    return _box((10, 59), (y, y + 1), (50, 51))


def _bar(y):  # 40 voxels of 0.5 MeV: 20 MeV deposited
    return _box((60, 61), (y + 2, y + 11), (50, 51))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("michel")
    events = [
        _event(10, [(_track(50), Label.MIP, 0), (_bar(50), Label.MICHEL, 40.0)]),
        _event(
            11,
            [
                (_track(20), Label.MIP, 0),
                (_bar(20), Label.MICHEL, 30.0),
                (_track(80), Label.MIP, 0),
                (_bar(80), Label.MICHEL, 50.0),
            ],
        ),
        _event(12, [(_track(50), Label.MIP, 0), (_bar(50), Label.DELTA, 5.0)]),
        _event(13, [(_track(50), Label.MIP, 0)]),
    ]
    meta = FileMeta(grid=192, source="test")
    write_events(tmp / "events.root", events, meta)
    preds = []
    for e in events:
        pred = e.relabel.copy()
        pred[pred == Label.DELTA] = Label.MICHEL  # a candidate with no true counterpart
        scores = np.eye(5, dtype=np.float32)[pred]
        preds.append(Prediction(e.event, pred, scores))
    write_predictions(tmp / "pred.root", preds, meta)
    return tmp


@pytest.mark.slow
def test_command_writes_trees_parquet_metrics(files):
    out = files / "out"
    status = main(
        [
            "michel",
            "--events",
            str(files / "events.root"),
            "--predictions",
            str(files / "pred.root"),
            "--out",
            str(out),
            "--threads",
            "2",
            "--chunk",
            "2",
        ]
    )
    assert status == 0
    status = main(
        [
            "michel-calibration",
            "--events",
            str(files / "events.root"),
            "--predictions",
            str(files / "pred.root"),
            "--min-entries",
            "1",
            "--out",
            str(files / "calib.json"),
        ]
    )
    assert status == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["sample"] == 4
    assert m["counts"]["candidates"] == 4 and m["counts"]["matched_candidates"] == 3
    assert m["id_purity"]["value"] == pytest.approx(0.75)
    assert m["id_efficiency"]["value"] == pytest.approx(1.0)
    assert m["id_efficiency_attached"]["value"] == pytest.approx(1.0)
    assert m["cluster_purity"]["value"] == pytest.approx(1.0)
    assert m["cluster_efficiency_voxels"]["value"] == pytest.approx(1.0)
    assert m["id_purity"]["lo"] < 0.75 < m["id_purity"]["hi"]
    # the added selection keeps the four clusters: 40 voxels, leaving their track sideways
    assert m["added"]["counts"]["candidates"] == 4
    assert m["added"]["id_purity"]["value"] == pytest.approx(0.75)
    assert "≥ 10 voxels" in m["added"]["selection"]["definition"]
    energy = json.loads((out / "energy.json").read_text())
    raw = energy["scales"]["raw"]
    bin_25 = raw["e_lo"].index(25.0)  # the three matched: 20 MeV reconstructed, 25 deposited
    assert raw["n"][bin_25] == 3 and raw["median"][bin_25] == pytest.approx(0.8)
    assert raw["sigma68"][bin_25] == pytest.approx(0.0, abs=1e-6)
    assert energy["calibrated"] is False and not raw["within_target"]

    with uproot.open(out / "michel.root") as f:
        assert f.classname_of("michel") == "TTree" and f.classname_of("h_npix") == "TH2D"
        cand = f["michel"].arrays(library="np")
        true = f["michel_true"].arrays(library="np")
    assert list(cand["event"]) == [10, 11, 11, 12]
    assert cand["candidate"].all() and list(cand["matched"]) == [True, True, True, False]
    assert cand["selected"].all()
    np.testing.assert_allclose(cand["e_true_edep"][:3], MICHEL_EDEP)
    assert list(cand["n_pix"]) == [40, 40, 40, 40]
    np.testing.assert_allclose(cand["e_reco"], 20.0, rtol=1e-6)
    np.testing.assert_allclose(sorted(true["e_true_ke"]), [30.0, 40.0, 50.0])
    np.testing.assert_allclose(true["e_dep"], 20.0, rtol=1e-6)
    np.testing.assert_allclose(true["e_true_edep"], MICHEL_EDEP)
    assert true["matched_added"].all()

    parquet = ak.from_parquet(out / "michel.parquet")
    assert list(parquet["event"]) == [10, 11, 12, 13]
    assert ak.num(parquet["candidates"]).tolist() == [1, 2, 1, 0]
    assert ak.num(parquet["true_clusters"]).tolist() == [1, 2, 0, 0]
    for name in (
        "michel_npix",
        "michel_energy_spectra",
        "michel_resolution",
        "michel_energy_response",
    ):
        assert (out / f"{name}.pdf").stat().st_size > 0

    # one bin (25-30 MeV deposited): median sum 20 ↔ median deposit 25
    calib = json.loads((files / "calib.json").read_text())
    assert calib["raw"] == [pytest.approx(20.0)] and calib["dep"] == [pytest.approx(25.0)]


@pytest.mark.slow
def test_truth_mode_and_calibration(files):
    out = files / "truth"
    (files / "scale.json").write_text(json.dumps({"raw": [10.0, 20.0], "dep": [20.0, 40.0]}))
    assert (
        main(
            [
                "michel",
                "--events",
                str(files / "events.root"),
                "--truth",
                "--out",
                str(out),
                "--calibration",
                str(files / "scale.json"),
            ]
        )
        == 0
    )
    m = json.loads((out / "metrics.json").read_text())
    assert m["truth"] is True and m["calibration"] == str(files / "scale.json")
    assert m["counts"]["candidates"] == 3
    assert m["id_purity"]["value"] == pytest.approx(1.0)
    with uproot.open(out / "michel.root") as f:
        cand = f["michel"].arrays(["e_reco", "e_reco_raw"], library="np")
    np.testing.assert_allclose(cand["e_reco"], 2.0 * cand["e_reco_raw"])


def test_misaligned_or_missing_predictions_are_input_errors(files, capsys):
    assert main(["michel", "--events", str(files / "events.root"), "--out", str(files / "x")]) == 1
    assert "--predictions" in capsys.readouterr().err
    assert (
        main(
            [
                "michel",
                "--events",
                str(files / "events.root"),
                str(files / "events.root"),
                "--predictions",
                str(files / "pred.root"),
                "--out",
                str(files / "x"),
            ]
        )
        == 1
    )
    assert "1 prediction files for 2 event files" in capsys.readouterr().err
