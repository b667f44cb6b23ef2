"""The added Michel selection (docs/study.md §6): each criterion on hand-built events and columns.

Events reuse the geometry of test_michel.py: tracks along x, 2×2 voxels across; Michel bars
2×2 across. Column-level tests build the candidate columns by hand, to put values exactly at a
threshold's edge.
"""

from __future__ import annotations

import numpy as np
import pytest

from analysis.michel.features import end_groups, split_cosine
from analysis.michel.metrics import michel_metrics
from analysis.michel.reconstruct import michel_event
from analysis.michel.selection import (
    ADDED,
    Selection,
    added_view,
    largest_per_end,
    select,
    true_matched,
)
from lartpc_seg.labels import Label

MIP, MICHEL = int(Label.MIP), int(Label.MICHEL)


def box(x: tuple[int, int], y: tuple[int, int], z: tuple[int, int]) -> np.ndarray:
    grid = np.mgrid[x[0] : x[1] + 1, y[0] : y[1] + 1, z[0] : z[1] + 1]
    return grid.reshape(3, -1).T.astype(np.int32)


def with_entry(columns: dict[str, np.ndarray], entry: int = 0) -> dict[str, np.ndarray]:
    n = len(next(iter(columns.values())))
    return {**columns, "entry": np.full(n, entry, np.int64)}


def test_mid_track_fake_is_refused_and_track_end_michel_kept(event_of_pieces):
    # muon 1: x 10..39, a Michel-predicted stretch x 40..44 (truly MIP), the muon goes on
    # x 45..79; muon 2 (y 80): a true Michel leaving its end sideways, along +y
    coords, pred, truth, energy = event_of_pieces(
        (box((10, 39), (50, 51), (50, 51)), MIP, MIP),
        (box((40, 44), (50, 51), (50, 51)), MIP, MICHEL),
        (box((45, 79), (50, 51), (50, 51)), MIP, MIP),
        (box((10, 59), (80, 81), (50, 51)), MIP, MIP),
        (box((60, 61), (82, 91), (50, 51)), MICHEL, MICHEL),
    )
    r = with_entry(michel_event(coords, pred, truth, energy).candidates)
    fake = np.flatnonzero(~r["matched"])[0]
    true = np.flatnonzero(r["matched"])[0]
    # the paper's procedure keeps both: each piece of the split track has an "end" at the fake
    assert r["candidate"][fake] and r["candidate"][true]
    assert r["n_tracks"][fake] == 2 and r["split_cos"][fake] < -0.95
    assert r["track_cos"][fake] < -0.95
    assert r["n_tracks"][true] == 1 and np.isnan(r["split_cos"][true])
    assert -0.5 < r["track_cos"][true] < 0.5
    for selection in (
        Selection(no_split=True, max_split_cos=-0.9),
        Selection(no_straight=True, max_straight_cos=-0.9),
        ADDED,
    ):
        kept = select(r, selection)
        assert not kept[fake] and kept[true], selection


def test_michel_continuing_its_track_straight_on_is_refused_only_by_no_straight(event_of_pieces):
    # a stretch predicted Michel at the very end of a track, on its axis: no second track
    coords, pred, truth, energy = event_of_pieces(
        (box((10, 49), (50, 51), (50, 51)), MIP, MIP),
        (box((50, 59), (50, 51), (50, 51)), MIP, MICHEL),
    )
    r = with_entry(michel_event(coords, pred, truth, energy).candidates)
    assert r["candidate"][0] and r["n_tracks"][0] == 1
    assert r["track_cos"][0] == pytest.approx(-1.0, abs=1e-6)
    assert select(r, Selection(no_split=True))[0]
    assert not select(r, Selection(no_straight=True, max_straight_cos=-0.9))[0]


def test_track_extent_is_the_reach_of_the_track_beyond_the_contact(event_of_pieces):
    coords, pred, truth, energy = event_of_pieces(
        (box((10, 59), (50, 51), (50, 51)), MIP, MIP),
        (box((60, 61), (52, 61), (50, 51)), MICHEL, MICHEL),
    )
    r = with_entry(michel_event(coords, pred, truth, energy).candidates)
    # contact (59, 51, z); farthest track voxel (10, 50, z'): √(49² + 1 + 1)
    assert r["track_extent"][0] == pytest.approx(np.sqrt(49**2 + 2), rel=1e-6)
    assert select(r, Selection(min_track_extent=49.0))[0]
    assert not select(r, Selection(min_track_extent=49.1))[0]


def _columns(**values: list) -> dict[str, np.ndarray]:
    """Candidate columns for the column-level tests: all paper candidates, attached."""
    n = len(next(iter(values.values())))
    base = {
        "candidate": np.ones(n, bool),
        "matched": np.ones(n, bool),
        "n_pix": np.full(n, 50, np.int32),
        "score_mean": np.full(n, 0.9, np.float32),
        "split_cos": np.full(n, np.nan, np.float32),
        "track_cos": np.full(n, 0.0, np.float32),
        "track_extent": np.full(n, 100.0, np.float32),
        "track_end": np.arange(n, dtype=np.int32),
        "entry": np.zeros(n, np.int64),
        "true_cluster": np.zeros(n, np.int32),
    }
    base.update({k: np.asarray(v, base[k].dtype) for k, v in values.items()})
    return base


def test_size_threshold_at_its_edge():
    c = _columns(n_pix=[9, 10, 11])
    np.testing.assert_array_equal(select(c, Selection(min_pix=10)), [False, True, True])


def test_score_threshold_at_its_edge_and_nan_passes():
    c = _columns(score_mean=[0.59, 0.6, 0.61, np.nan])
    edge = np.float32(0.6)  # the stored score is float32; compare in its own precision
    np.testing.assert_array_equal(
        select(c, Selection(min_score=float(edge))), [False, True, True, True]
    )


def test_split_and_straight_thresholds_at_their_edges():
    c = _columns(split_cos=[-0.95, -0.9, -0.85, np.nan], track_cos=[0.0, 0.0, 0.0, 0.0])
    edge = float(np.float32(-0.9))
    kept = select(c, Selection(no_split=True, max_split_cos=edge))
    np.testing.assert_array_equal(kept, [False, False, True, True])
    c = _columns(track_cos=[-0.95, -0.9, -0.85, np.nan])
    kept = select(c, Selection(no_straight=True, max_straight_cos=edge))
    np.testing.assert_array_equal(kept, [False, False, True, True])


def test_only_paper_candidates_can_pass():
    c = _columns(candidate=[False, True])
    np.testing.assert_array_equal(select(c, Selection()), [False, True])


def test_one_candidate_per_track_end_keeps_the_largest_passing():
    # event 0: clusters 0, 1, 2 share end 0 (sizes 12, 30, 30: the first of the tied largest),
    # cluster 3 has end 1; event 1: cluster 4 has its own end 0; cluster 5 is not attached
    c = _columns(
        n_pix=[12, 30, 30, 5, 8, 40],
        track_end=[0, 0, 0, 1, 0, -1],
        entry=[0, 0, 0, 0, 1, 1],
    )
    passing = np.ones(6, bool)
    np.testing.assert_array_equal(
        largest_per_end(c, passing), [False, True, False, True, True, False]
    )
    # the largest is taken among the clusters that pass the other cuts
    kept = select(c, Selection(min_pix=10, one_per_end=True))
    np.testing.assert_array_equal(kept, [False, True, False, False, False, False])
    c["track_end"][5] = 2
    c["n_pix"][1] = 9
    kept = select(c, Selection(min_pix=10, one_per_end=True))
    np.testing.assert_array_equal(kept, [False, False, True, False, False, True])


def test_end_groups_join_contacts_of_one_track_within_the_radius():
    track = np.array([0, 0, 0, 1, -1])
    contact = np.array([[0, 0, 0], [15, 0, 0], [16, 0, 0], [0, 0, 0], [0, 0, 0]], float)
    np.testing.assert_array_equal(end_groups(track, contact, 15.0), [0, 0, 1, 2, -1])


def test_split_cosine_is_the_smallest_pairwise_cosine():
    d = np.array([[1.0, 0, 0], [0, 1.0, 0], [-1.0, 0, 0]])
    assert split_cosine(d) == pytest.approx(-1.0)
    assert split_cosine(d[:2]) == pytest.approx(0.0)
    assert np.isnan(split_cosine(d[:1]))


def test_true_matched_maps_event_clusters_to_rows():
    # two events with 2 and 3 true clusters; selected matched clusters hit (0, 1) and (1, 2)
    true_clusters = {"entry": np.array([0, 0, 1, 1, 1])}
    candidates = {
        "entry": np.array([0, 0, 1, 1]),
        "matched": np.array([True, True, True, False]),
        "true_cluster": np.array([1, 0, 2, -1]),
    }
    selected = np.array([True, False, True, True])
    np.testing.assert_array_equal(
        true_matched(candidates, true_clusters, selected), [False, True, False, False, True]
    )


@pytest.mark.parametrize("shower_score, grown", [(0.2, 60), (0.19, 40)])
def test_growth_takes_in_connected_voxels_scored_michel_enough(
    shower_score, grown, event_of_pieces
):
    # a true Michel bar of 60 voxels along +y; its far third is predicted shower with a
    # Michel score at (or just below) the growth threshold 0.2
    shower = int(Label.SHOWER)
    coords, pred, truth, energy = event_of_pieces(
        (box((10, 59), (50, 51), (50, 51)), MIP, MIP),
        (box((60, 61), (52, 61), (50, 51)), MICHEL, MICHEL),
        (box((60, 61), (62, 66), (50, 51)), MICHEL, shower),
        (box((70, 79), (90, 91), (50, 51)), int(Label.SHOWER), shower),  # a detached shower
    )
    score = np.where(pred == MICHEL, 0.9, 0.0)
    # voxels: track 0-199, Michel-predicted 200-239, far third 240-259, detached shower 260-299
    score[240:260] = shower_score
    score[260:] = 0.9  # the detached shower scores high but touches nothing
    r = michel_event(coords, pred, truth, energy, score=score.astype(np.float32)).candidates
    assert r["n_pix"][0] == 40 and r["n_pix_grown"][0] == grown
    assert r["n_pix_true_grown"][0] == grown and r["e_reco_raw_grown"][0] == grown
    c, t = added_view(with_entry(r), {"entry": np.zeros(1, np.int64)}, Selection(min_pix=10))
    assert c["candidate"][0] and c["n_pix"][0] == grown and t["matched"][0]


def test_grown_cluster_reaching_a_second_michel_electron_counts_only_its_match(event_of_pieces):
    # the candidate (true Michel bar A, 40 voxels) grows through a predicted-shower bridge into
    # a second true Michel electron B, 40 voxels: its efficiency is that of A alone (1), not
    # of every truly-Michel voxel it took in (80 / 40)
    shower = int(Label.SHOWER)
    coords, pred, truth, energy = event_of_pieces(
        (box((10, 59), (50, 51), (50, 51)), MIP, MIP),
        (box((60, 61), (52, 61), (50, 51)), MICHEL, MICHEL),
        (box((60, 61), (62, 66), (50, 51)), shower, shower),
        (box((60, 61), (67, 76), (50, 51)), MICHEL, shower),
    )
    score = np.where(pred == MICHEL, 0.9, 0.5).astype(np.float32)
    score[:200] = 0.0
    r = michel_event(coords, pred, truth, energy, score=score).candidates
    assert r["n_pix_grown"][0] == 100 and r["n_pix_true_grown"][0] == 80
    assert r["n_pix_in_matched_grown"][0] == 40 and r["n_pix_matched"][0] == 40
    trues = {"entry": np.zeros(2, np.int64), "matched": np.zeros(2, bool)}
    c, t = added_view(with_entry(r), trues, Selection(min_pix=10))
    m = michel_metrics(c, {**t, "attached": np.ones(2, bool)}, 1, n_bootstrap=10, seed=0)
    assert m["cluster_efficiency"]["value"] == pytest.approx(1.0)
    assert m["cluster_purity"]["value"] == pytest.approx(0.8)
