"""The project's DBSCAN gives scikit-learn's labels, numbering included."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from lartpc_seg.clustering import TOUCH_RADIUS_VOX, dbscan


def _clouds(seed: int) -> np.ndarray:
    """Voxel blobs and random-walk tracks with gaps, as the Michel analysis and relabeling see."""
    rng = np.random.default_rng(seed)
    parts = [rng.integers(0, 40, size=(rng.integers(0, 60), 3))]
    for _ in range(rng.integers(1, 4)):
        steps = rng.integers(-1, 2, size=(rng.integers(5, 80), 3))
        steps[rng.random(len(steps)) < 0.05] *= 3  # an occasional gap
        parts.append(rng.integers(10, 30, size=3) + np.cumsum(steps, axis=0))
    return np.unique(np.concatenate(parts), axis=0).astype(np.float64)


@pytest.mark.parametrize("min_samples", [1, 2, 5, 10])
@pytest.mark.parametrize("seed", range(25))
def test_labels_equal_sklearn(seed, min_samples):
    points = _clouds(seed)
    expected = DBSCAN(eps=TOUCH_RADIUS_VOX, min_samples=min_samples).fit(points).labels_
    np.testing.assert_array_equal(dbscan(points, TOUCH_RADIUS_VOX, min_samples), expected)


def test_gap_of_two_two_zero_touches_and_one_more_does_not():
    points = np.array([[0, 0, 0], [2, 2, 0], [5, 4, 0]], dtype=float)
    np.testing.assert_array_equal(dbscan(points, TOUCH_RADIUS_VOX, 1), [0, 0, 1])


def test_empty_and_all_noise():
    assert dbscan(np.zeros((0, 3)), TOUCH_RADIUS_VOX, 5).shape == (0,)
    points = np.array([[0, 0, 0], [10, 0, 0]], dtype=float)
    np.testing.assert_array_equal(dbscan(points, TOUCH_RADIUS_VOX, 2), [-1, -1])


def test_benchmark_command_checks_equality_and_writes_the_ratio(toy_file, tmp_path):
    from lartpc_seg.cli import main

    out = tmp_path / "clustering.json"
    events = toy_file("toy.root", 6)
    args = ["clustering", "--events-file", str(events), "--repeats", "1", "--out", str(out)]
    status = main(["benchmark", *args])
    assert status == 0
    result = json.loads(out.read_text())
    assert result["labels_equal"] is True and result["events"] > 0
    assert result["sklearn_over_project"] > 0
    assert result["cpu_ms_per_event_project"] > 0 and result["cpu_ms_per_event_sklearn"] > 0
