"""Metrics, intervals, true energies through the particle table, and the calibration fit."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.bootstrap import ratio_interval
from analysis.michel.metrics import clopper_pearson, michel_metrics
from analysis.michel.reconstruct import michel_event
from analysis.michel.spectrum import resolution
from analysis.michel.truth import michel_ancestor, true_michel_energy
from lartpc_seg.io.events import ParticleTable
from lartpc_seg.labels import Label, Process


def test_clopper_pearson_known_values():
    # Exact values: beta quantiles; 0/n and n/n reduce to 1 - (α/2)^(1/n).
    lo, hi = clopper_pearson(5, 10)
    assert lo == pytest.approx(0.187086, abs=1e-6) and hi == pytest.approx(0.812914, abs=1e-6)
    assert clopper_pearson(0, 10) == pytest.approx((0.0, 1 - 0.025**0.1), abs=1e-9)
    assert clopper_pearson(10, 10) == pytest.approx((0.025**0.1, 1.0), abs=1e-9)
    assert all(np.isnan(clopper_pearson(0, 0)))


def test_bootstrap_ratio_brackets_the_value():
    rng = np.random.default_rng(0)
    den = rng.integers(1, 20, size=400).astype(float)
    num = rng.binomial(den.astype(int), 0.9).astype(float)
    value, lo, hi = ratio_interval(num, den, np.random.default_rng(1), 1000)
    assert value == pytest.approx(num.sum() / den.sum())
    assert lo < value < hi
    # Binomial standard error of the pooled ratio: the 95 % interval is about ±1.96 σ.
    sigma = np.sqrt(0.9 * 0.1 / den.sum())
    assert (hi - lo) / 2 == pytest.approx(1.96 * sigma, rel=0.25)


def _columns():
    candidates = {
        "entry": np.array([0, 0, 1, 2, 2]),
        "candidate": np.array([True, True, True, True, False]),
        "matched": np.array([True, False, True, True, True]),
        "n_pix": np.array([10, 5, 20, 8, 6]),
        "n_pix_true": np.array([9, 0, 20, 8, 6]),
        # the fourth candidate also takes in 2 voxels of another Michel electron
        "n_pix_in_matched": np.array([9, 0, 20, 6, 6]),
        "n_pix_matched": np.array([10, 0, 25, 6, 6]),
    }
    true_clusters = {
        "entry": np.array([0, 1, 2, 2]),
        "matched": np.array([True, True, True, False]),
        "attached": np.array([True, True, True, False]),
    }
    return candidates, true_clusters


def test_michel_metrics_counts_and_values():
    candidates, true_clusters = _columns()
    m = michel_metrics(candidates, true_clusters, n_events=4, n_bootstrap=200, seed=0)
    assert m["sample"] == 4
    assert m["counts"]["candidates"] == 4 and m["counts"]["matched_candidates"] == 3
    assert m["id_purity"]["value"] == pytest.approx(3 / 4)
    assert (m["id_purity"]["lo"], m["id_purity"]["hi"]) == pytest.approx(clopper_pearson(3, 4))
    assert m["id_efficiency"]["value"] == pytest.approx(3 / 4)
    assert m["id_efficiency_attached"]["value"] == pytest.approx(1.0)
    assert m["cluster_purity"]["value"] == pytest.approx((0.9 + 1.0 + 1.0) / 3)
    assert m["cluster_efficiency"]["value"] == pytest.approx((0.9 + 0.8 + 1.0) / 3)
    assert m["cluster_purity_voxels"]["value"] == pytest.approx(37 / 38)
    assert m["cluster_efficiency_voxels"]["value"] == pytest.approx(35 / 41)
    for key in ("cluster_purity", "cluster_efficiency_voxels"):
        assert m[key]["lo"] <= m[key]["value"] <= m[key]["hi"]


def _particles() -> ParticleTable:
    # 0 μ- (primary); 1 Michel e- (Decay, 40 MeV); 2 brem γ of 1; 3 Compton e- of 2;
    # 4 δ e- of the muon (muIoni); 5 a μ-capture-at-rest electron of another muon 6 (25 MeV).
    pdg = np.array([13, 11, 22, 11, 11, 11, -13], np.int32)
    parent = np.array([-1, 0, 1, 2, 0, 6, -1], np.int32)
    process = np.array(
        [
            Process.primary,
            Process.Decay,
            Process.eBrem,
            Process.compt,
            Process.muIoni,
            Process.muMinusCaptureAtRest,
            Process.primary,
        ],
        np.int8,
    )
    cls = np.array(
        [Label.MIP, Label.MICHEL, Label.SHOWER, Label.SHOWER, Label.DELTA, Label.MICHEL, Label.MIP],
        np.int8,
    )
    ke = np.array([100.0, 40.0, 5.0, 2.0, 3.0, 25.0, 80.0], np.float32)
    zeros = np.zeros((7, 3), np.float32)
    edep = np.array([90.0, 27.5, 0.0, 1.5, 2.5, 20.0, 70.0], np.float32)  # each one's own
    return ParticleTable(pdg, parent, process, cls, ke, zeros, zeros, edep)


def test_michel_ancestor_walks_up_the_parents():
    np.testing.assert_array_equal(michel_ancestor(_particles()), [-1, 1, 1, 1, -1, 5, -1])


def test_true_energy_is_the_majority_michel_ancestor():
    particles = _particles()
    part = np.array([1, 1, 3, 4, 4, 0, 5, 5, 5, 1])
    clusters = [np.array([0, 1, 2, 3, 4]), np.array([6, 7, 8, 9]), np.array([3, 5])]
    ke = true_michel_energy(part, particles, clusters)
    assert ke[0] == pytest.approx(40.0)  # 1, 1, 3→1 vote Michel 1; δ voxels do not vote
    assert ke[1] == pytest.approx(25.0)  # 3 votes for 5, 1 for 1
    assert np.isnan(ke[2])  # no Michel ancestor at all


def test_event_energies_through_the_particle_table():
    track = np.mgrid[10:60, 50:52, 50:52].reshape(3, -1).T
    bar = np.mgrid[60:62, 52:62, 50:52].reshape(3, -1).T
    coords = np.concatenate([track, bar]).astype(np.int32)
    labels = np.repeat(np.array([Label.MIP, Label.MICHEL], np.int8), [len(track), len(bar)])
    energy = np.where(labels == Label.MICHEL, 0.5, 1.0).astype(np.float32)
    part = np.where(labels == Label.MICHEL, 1, 0)
    part[len(track) : len(track) + 5] = 3  # Compton electron of the Michel's photon
    r = michel_event(coords, labels, labels, energy, part, _particles())
    assert r.candidates["matched"][0]
    assert r.candidates["e_true_ke"][0] == pytest.approx(40.0)
    assert r.candidates["e_true_dep"][0] == pytest.approx(20.0)
    assert r.candidates["e_reco_raw"][0] == pytest.approx(20.0)
    assert r.true_clusters["e_true_ke"][0] == pytest.approx(40.0)
    # the electron's own deposit comes from the particle table, not from the voxels
    assert r.candidates["e_true_edep"][0] == pytest.approx(27.5)
    assert r.true_clusters["e_true_edep"][0] == pytest.approx(27.5)


def test_resolution():
    true = np.array([10.0, 20.0, 30.0, 40.0])
    reco = 0.5 * true
    res = resolution(true, reco, edges=np.array([0.0, 25.0, 50.0]))
    np.testing.assert_allclose(res["bias"], [-0.5, -0.5])
    np.testing.assert_allclose(res["sigma"], [0.0, 0.0], atol=1e-12)
    np.testing.assert_array_equal(res["n"], [2, 2])
