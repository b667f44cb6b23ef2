"""The default study's events: the Michel procedure on true labels, and label overlaps."""

import numpy as np
import pytest

from analysis.michel.reconstruct import michel_event
from lartpc_seg.simulation import simulate_event
from lartpc_seg.simulation.diagnostics import label_overlap_figures

#: The test split's seed of the default study (seed + SPLIT_SEED_OFFSET["test"]).
TEST_SEED = 20190314 + 2_000_000


@pytest.mark.slow
def test_michel_procedure_on_true_labels_finds_the_michel_electrons(default_study_config):
    """docs/study.md §6 run with the true relabeled labels as the prediction: the tracks must be
    wide enough for DBSCAN(2√2, min_samples 10) to find their cores, so that ≥ 98 % of the
    true Michel clusters become matched candidates."""
    config = default_study_config
    matched = total = 0
    for k in range(100):
        event = simulate_event(config, TEST_SEED, k)
        r = michel_event(event.coords, event.relabel, event.relabel, event.energy)
        matched += int(r.true_clusters["matched"].sum())
        total += len(r.true_clusters["matched"])
    print(f"Michel procedure on true labels: {matched} of {total} true Michel clusters matched")
    assert total >= 100
    assert matched / total >= 0.98


@pytest.mark.slow
def test_true_position_labels_reduce_the_delta_track_overlap(default_study_config):
    figures = label_overlap_figures(default_study_config, TEST_SEED, range(20))
    print({k: round(v, 3) for k, v in figures.items()})
    assert figures["new_delta_with_track"] < figures["old_delta_with_track"]
    assert figures["new_delta_core_mostly_track"] < figures["old_delta_core_mostly_track"]
    assert 1.0 < figures["track_voxels_per_crossed"] < 3.0
    assert np.isfinite(list(figures.values())).all()
