"""The Michel procedure (docs/study.md §6) on hand-built events with known answers.

Tracks run along x with a 2×2 voxel cross-section (a 1-voxel line is never a DBSCAN
min_samples=10 core, docs/physics.md §8); Michel blobs are 2×2-wide bars.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from analysis.michel.benchmark import synthetic_event
from analysis.michel.reconstruct import MichelConfig, _at_track_end, dbscan, michel_event
from lartpc_seg.labels import TOUCH_RADIUS_VOX, Label


def box(x: tuple[int, int], y: tuple[int, int], z: tuple[int, int]) -> np.ndarray:
    """All voxels with x0 <= x <= x1 etc. (inclusive bounds)."""
    grid = np.mgrid[x[0] : x[1] + 1, y[0] : y[1] + 1, z[0] : z[1] + 1]
    return grid.reshape(3, -1).T.astype(np.int32)


def track(x0: int, x1: int, y: int = 50, z: int = 50) -> np.ndarray:
    """A muon track along x, two voxels wide in y and z."""
    return box((x0, x1), (y, y + 1), (z, z + 1))


def michel_bar(x: int, y0: int, y1: int, z: int = 50) -> np.ndarray:
    """A Michel electron going along +y from y0, two voxels wide in x and z."""
    return box((x, x + 1), (y0, y1), (z, z + 1))


MIP, MICHEL = int(Label.MIP), int(Label.MICHEL)


def test_michel_at_track_end_is_a_matched_candidate(event_of_pieces):
    coords, pred, truth, energy = event_of_pieces(
        (track(10, 59), MIP, MIP), (michel_bar(60, 52, 61), MICHEL, MICHEL)
    )
    r = michel_event(coords, pred, truth, energy)
    c, t = r.candidates, r.true_clusters
    assert len(c["n_pix"]) == 1 and len(t["n_pix"]) == 1
    assert c["attached"][0] and c["at_edge"][0] and c["candidate"][0] and c["matched"][0]
    assert c["n_pix"][0] == 40 and c["n_pix_true"][0] == 40 and c["n_pix_matched"][0] == 40
    assert c["e_reco_raw"][0] == pytest.approx(40.0)
    assert t["attached"][0] and t["matched"][0]


def test_michel_touching_the_middle_of_a_track_is_not_at_the_end(event_of_pieces):
    coords, pred, truth, energy = event_of_pieces(
        (track(10, 59), MIP, MIP), (michel_bar(34, 52, 61), MICHEL, MICHEL)
    )
    c = michel_event(coords, pred, truth, energy).candidates
    assert c["attached"][0] and not c["at_edge"][0] and not c["candidate"][0]
    assert c["matched"][0]  # matched to its true cluster, but not a candidate


def test_detached_blob_is_not_attached(event_of_pieces):
    coords, pred, truth, energy = event_of_pieces(
        (track(10, 59), MIP, MIP), (michel_bar(60, 70, 79), MICHEL, MICHEL)
    )
    r = michel_event(coords, pred, truth, energy)
    assert not r.candidates["attached"][0] and not r.candidates["candidate"][0]
    assert not r.true_clusters["attached"][0] and not r.true_clusters["matched"][0]


def test_two_michels_in_one_event(event_of_pieces):
    coords, pred, truth, energy = event_of_pieces(
        (track(10, 59), MIP, MIP),
        (michel_bar(60, 52, 61), MICHEL, MICHEL),
        (track(10, 59, y=100), MIP, MIP),
        (michel_bar(60, 102, 106), MICHEL, MICHEL),
    )
    r = michel_event(coords, pred, truth, energy)
    c = r.candidates
    assert c["candidate"].sum() == 2 and c["matched"].sum() == 2
    assert sorted(c["true_cluster"]) == [0, 1]
    assert sorted(c["n_pix"]) == [20, 40]
    assert r.true_clusters["matched"].all()


def test_event_without_michel(event_of_pieces):
    coords, pred, truth, energy = event_of_pieces((track(10, 59), MIP, MIP))
    r = michel_event(coords, pred, truth, energy)
    assert len(r.candidates["n_pix"]) == 0 and len(r.true_clusters["n_pix"]) == 0


def test_candidate_without_true_counterpart_is_unmatched(event_of_pieces):
    coords, pred, truth, energy = event_of_pieces(
        (track(10, 59), MIP, MIP), (michel_bar(60, 52, 61), int(Label.DELTA), MICHEL)
    )
    r = michel_event(coords, pred, truth, energy)
    c = r.candidates
    assert c["candidate"][0] and not c["matched"][0]
    assert c["true_cluster"][0] == -1 and c["n_pix_true"][0] == 0
    assert np.isnan(c["e_true_ke"][0])
    assert len(r.true_clusters["n_pix"]) == 0


def test_short_track_whose_remainder_is_noise_is_at_the_end(event_of_pieces):
    # Track x = 45..59 plus a 1-voxel tail x = 41..44: after removing the voxels within 15 of
    # the contact, only 3 tail voxels of the track cluster remain, all DBSCAN noise. The
    # original rule (exactly one cluster or nothing left) rejected this; the corrected one keeps it.
    tail = np.array([[x, 50, 50] for x in range(41, 45)], np.int32)
    coords, pred, truth, energy = event_of_pieces(
        (track(45, 59), MIP, MIP), (tail, MIP, MIP), (michel_bar(60, 52, 59), MICHEL, MICHEL)
    )
    r = michel_event(coords, pred, truth, energy)
    assert r.candidates["attached"][0] and r.candidates["at_edge"][0]
    # The remainder really is made of noise voxels only, not empty:
    mip = coords[pred == MIP].astype(float)
    labels = dbscan(mip, TOUCH_RADIUS_VOX, 10)
    contact = np.array([59.0, 51.0, 50.0])
    rest = mip[(labels >= 0) & (np.linalg.norm(mip - contact, axis=1) > 15)]
    assert 0 < len(rest) < 5
    assert (dbscan(rest, TOUCH_RADIUS_VOX, 5) == -1).all()


def test_track_end_rule_counts_clusters_not_noise():
    config = MichelConfig()

    def at_end(points: np.ndarray, contact: list[float]) -> bool:
        points = points.astype(float)
        return _at_track_end(points, np.array(contact, float), config)

    assert at_end(track(0, 59), [30, 50, 50]) is False  # two pieces remain
    assert at_end(track(0, 59), [59, 50, 50]) is True  # one piece remains
    assert at_end(track(0, 10), [10, 50, 50]) is True  # nothing remains
    # Isolated voxels 3 apart beyond 15 voxels are DBSCAN noise: they do not count.
    line = np.array([[x, 40, 50] for x in range(20, 60, 3)])
    assert at_end(np.concatenate([track(0, 10), line]), [10, 50, 50]) is True
    assert at_end(np.concatenate([track(0, 10), line, track(40, 59, y=30)]), [10, 50, 50]) is True
    assert at_end(np.concatenate([track(0, 59), track(0, 59, y=30)]), [59, 50, 50]) is False


@pytest.mark.parametrize(("gap", "touching"), [((2, 2, 0), True), ((2, 2, 1), False)])
def test_epsilon_boundary(gap, touching, event_of_pieces):
    # Michel voxel offset from the track-end voxel (59, 51, 51) by exactly `gap`.
    start = np.array([59, 51, 51]) + gap
    bar = box((start[0], start[0] + 1), (start[1], start[1] + 9), (start[2], start[2] + 1))
    coords, pred, truth, energy = event_of_pieces((track(10, 59), MIP, MIP), (bar, MICHEL, MICHEL))
    r = michel_event(coords, pred, truth, energy)
    assert bool(r.candidates["attached"][0]) is touching
    assert bool(r.true_clusters["attached"][0]) is touching


def test_matching_uses_majority_and_epsilon(event_of_pieces):
    # Candidate = 12 voxels of true cluster A's bar + 8 voxels predicted Michel but truly MIP;
    # every candidate voxel votes for A, so it is matched, purity 12/20, efficiency 12/40.
    true_bar = michel_bar(60, 52, 61)
    coords, pred, truth, energy = event_of_pieces(
        (track(10, 59), MIP, MIP), (true_bar, MICHEL, MIP)
    )
    in_cand = np.flatnonzero((coords[:, 0] >= 60) & (coords[:, 1] <= 54))
    pred[in_cand] = MICHEL
    mip_cand = np.flatnonzero((coords[:, 0] >= 58) & (coords[:, 0] <= 59))
    pred[mip_cand] = MICHEL
    r = michel_event(coords, pred, truth, energy)
    c = r.candidates
    assert len(c["n_pix"]) == 1
    assert c["n_pix"][0] == len(in_cand) + len(mip_cand) == 20
    assert c["matched"][0] and c["true_cluster"][0] == 0
    assert c["n_pix_true"][0] == 12 and c["n_pix_in_matched"][0] == 12
    assert c["n_pix_matched"][0] == 40


def test_dbscan_equals_sklearn():
    rng = np.random.default_rng(3)
    for _ in range(5):
        coords, _, _ = synthetic_event(rng, n_tracks=3)
        for min_samples in (1, 5, 10):
            mine = dbscan(coords.astype(float), TOUCH_RADIUS_VOX, min_samples)
            ref = DBSCAN(eps=TOUCH_RADIUS_VOX, min_samples=min_samples).fit(coords).labels_
            np.testing.assert_array_equal(mine, ref)


def test_truth_as_prediction_finds_every_synthetic_michel():
    rng = np.random.default_rng(4)
    found = total = 0
    for _ in range(20):
        coords, labels, energy = synthetic_event(rng, n_tracks=3)
        r = michel_event(coords, labels, labels, energy)
        att = r.true_clusters["attached"]
        found += (r.true_clusters["matched"] & att).sum()
        total += att.sum()
        assert r.candidates["matched"][r.candidates["candidate"]].all()
    assert total >= 50
    assert found / total > 0.9  # misses: another track crossing near the Michel
