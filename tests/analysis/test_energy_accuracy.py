"""Accuracy of the δ-ray and Michel voxels by the energy of their electron."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from analysis.accuracy.by_energy import electron_energy, source_electron
from analysis.cli import main
from lartpc_seg.io.events import Event, FileMeta, ParticleTable, write_events
from lartpc_seg.io.predictions import Prediction, write_predictions
from lartpc_seg.labels import Label

H, M, S, D, MI = (int(c) for c in Label)

#: 0 a muon; 1 a 2.5 MeV δ ray of it; 2 a photon of the δ ray; 3 its Compton electron;
#: 4 a 12 MeV δ ray; 5 the Michel electron (35 MeV) of the muon; 6 a proton.
PARTICLES = ParticleTable(
    pdg=np.array([13, 11, 22, 11, 11, 11, 2212], np.int32),
    parent=np.array([-1, 0, 1, 2, 0, 0, -1], np.int32),
    process=np.array([0, 3, 6, 7, 3, 1, 0], np.int8),
    cls=np.array([M, D, S, S, D, MI, H], np.int8),
    ke=np.array([300.0, 2.5, 1.0, 0.6, 12.0, 35.0, 80.0], np.float32),
    start=np.zeros((7, 3), np.float32),
    end=np.zeros((7, 3), np.float32),
    edep=np.ones(7, np.float32),
)

# Voxels by dominant particle: 3 of the muon (one labelled delta: a δ ray's root voxel where the
# muon deposited more), 2 of δ 1, 1 of its Compton electron, 4 of δ 4, 2 of the Michel electron.
PART = np.array([0, 0, 0, 1, 1, 3, 4, 4, 4, 4, 5, 5])
LABEL = np.array([M, M, D, D, D, D, D, D, D, D, MI, MI])
# right: the muon's delta voxel; one voxel of δ 1; δ 1's Compton voxel; 3 of 4 of δ 4.
PRED = np.array([M, M, D, D, M, D, D, D, D, S, MI, S])


def test_source_electron_walks_up_to_the_nearest_particle_of_the_class():
    np.testing.assert_array_equal(source_electron(PARTICLES, Label.DELTA), [-1, 1, 1, 1, 4, -1, -1])
    np.testing.assert_array_equal(
        source_electron(PARTICLES, Label.MICHEL), [-1, -1, -1, -1, -1, 5, -1]
    )


def test_electron_energy_is_nan_without_an_electron_of_the_class():
    energy = electron_energy(PART, PARTICLES, Label.DELTA)
    np.testing.assert_allclose(energy[3:10], [2.5, 2.5, 2.5, 12.0, 12.0, 12.0, 12.0])
    assert np.isnan(energy[[0, 1, 2, 10, 11]]).all()


@pytest.fixture
def files(tmp_path):
    meta = FileMeta(grid=16, source="test")
    n = len(PART)
    event = Event(
        event=7,
        coords=np.stack([np.arange(n), np.zeros(n), np.zeros(n)], axis=1).astype(np.int32),
        energy=np.full(n, 0.5, np.float32),
        label=LABEL.astype(np.int8),
        relabel=LABEL.astype(np.int8),
        part=PART.astype(np.int32),
        particles=PARTICLES,
    )
    events = tmp_path / "events.root"
    write_events(events, [event], meta)
    pred = PRED.astype(np.int8)
    preds = tmp_path / "pred.root"
    write_predictions(
        preds, [Prediction(event=7, pred=pred, scores=np.eye(5, dtype=np.float32)[pred])], meta
    )
    return events, preds


def _run(files, tmp_path, *extra):
    events, preds = files
    return main(
        [
            "accuracy-by-energy",
            "--events",
            str(events),
            "--predictions",
            f"net={preds}",
            "--column",
            "net_rel=net:relabel",
            "--out",
            str(tmp_path / "out"),
            *extra,
        ]
    )


def test_delta_table_by_hand(files, tmp_path):
    assert _run(files, tmp_path, "--class", "delta", "--bins", "1", "3", "10", "30") == 0
    with open(tmp_path / "out.csv") as f:
        rows = {r["energy"]: r for r in csv.DictReader(f)}
    # 8 delta voxels: 1 with no δ electron (the muon's), 3 of the 2.5 MeV δ ray, 4 of 12 MeV
    assert list(rows) == ["1–3 MeV", "3–10 MeV", "10–30 MeV", "no electron of the class"]
    assert float(rows["1–3 MeV"]["net_rel_share"]) == pytest.approx(100 * 3 / 8)
    assert float(rows["1–3 MeV"]["net_rel"]) == pytest.approx(100 * 2 / 3)
    assert float(rows["3–10 MeV"]["net_rel_share"]) == 0.0
    assert rows["3–10 MeV"]["net_rel"] == ""
    assert float(rows["10–30 MeV"]["net_rel"]) == pytest.approx(75.0)
    assert float(rows["no electron of the class"]["net_rel"]) == pytest.approx(100.0)
    markdown = (tmp_path / "out.md").read_text()
    assert "| 10–30 MeV | 75.0 (50.0 %) |" in markdown


def test_michel_table_and_energies_outside_the_bins(files, tmp_path):
    assert _run(files, tmp_path, "--class", "michel", "--bins", "0", "20", "30") == 0
    with open(tmp_path / "out.csv") as f:
        rows = {r["energy"]: r for r in csv.DictReader(f)}
    assert float(rows["outside the bins"]["net_rel_share"]) == pytest.approx(100.0)
    assert float(rows["outside the bins"]["net_rel"]) == pytest.approx(50.0)
    assert "no electron of the class" not in rows


def test_bins_must_increase(files, tmp_path, capsys):
    assert _run(files, tmp_path, "--class", "delta", "--bins", "3", "1") == 1
    assert "--bins" in capsys.readouterr().err


def test_a_column_without_its_predictions_is_refused(files, tmp_path, capsys):
    events, preds = files
    code = main(
        [
            "accuracy-by-energy",
            "--class",
            "delta",
            "--events",
            str(events),
            "--predictions",
            f"net={preds}",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 1
    assert "regular_regular" in capsys.readouterr().err
