"""The Michel figures' statistics: Clopper–Pearson points as the table's, Poisson errors, the
ratio of matched candidates only, and one voxel-count axis for every variant."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.michel.metrics import clopper_pearson
from analysis.michel.spectrum import efficiency_points, npix_range, poisson_errors, ratio_points


def test_efficiency_points_match_the_table_intervals():
    edges = np.array([0.0, 10.0, 20.0, 30.0])
    values = np.array([5.0, 5.0, 5.0, 15.0, 15.0, 15.0, 15.0])
    passed = np.array([1, 1, 1, 1, 0, 0, 0], bool)
    frac, lo, hi = efficiency_points(passed, values, edges)
    assert frac[0] == 1.0 and frac[1] == 0.25 and np.isnan(frac[2])
    for b, (k, n) in enumerate([(3, 3), (1, 4)]):
        want = clopper_pearson(k, n)
        assert (lo[b], hi[b]) == pytest.approx(want, abs=1e-9)
    # at 100 % the interval still has a length (a Wald error would be zero)
    assert lo[0] < 0.5 and hi[0] == 1.0
    assert np.isnan(lo[2]) and np.isnan(hi[2])


def test_poisson_errors_are_garwood_and_absent_on_empty_bins():
    errors = poisson_errors(np.array([0.0, 1.0, 100.0]))
    assert errors[:, 0].tolist() == [0.0, 0.0]
    assert errors[0, 1] == pytest.approx(0.827, abs=1e-3)  # 1 - 0.173
    assert errors[1, 1] == pytest.approx(2.300, abs=1e-3)  # 3.300 - 1
    assert errors[:, 2] == pytest.approx([9.95, 11.0], abs=0.1)  # ~sqrt(100)


def test_ratio_is_undefined_on_empty_denominators():
    ratio, err = ratio_points(np.array([2.0, 3.0, 4.0]), np.array([2.0, 0.0, 1.0]))
    assert ratio[0] == 1.0 and np.isnan(ratio[1]) and ratio[2] == 4.0
    assert err[0] == pytest.approx(1.0)  # sqrt(1/2 + 1/2)
    assert err[2] == pytest.approx(4.0 * np.sqrt(1 / 4 + 1))


def test_voxel_axis_follows_the_true_clusters_only():
    """Every variant of a test set has the same true clusters, hence the same axis."""
    truth = {"n_pix": np.arange(1, 41, dtype=np.int32)}
    assert npix_range(truth) == 60.0
    assert npix_range({"n_pix": np.zeros(0, np.int32)}) == 80.0
