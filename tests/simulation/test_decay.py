"""Decays at rest: the Michel spectrum and the μ− decay/capture fraction."""

import numpy as np
import pytest
from scipy import stats

from lartpc_seg.constants import MICHEL_ENDPOINT_MEV, MU_MINUS_DECAY_PROBABILITY
from lartpc_seg.simulation.decay import (
    michel_cdf,
    michel_kinetic_energy,
    mu_minus_decays,
    sample_michel_x,
)


def test_michel_spectrum_ks():
    x = sample_michel_x(np.random.default_rng(7), 2000)
    result = stats.kstest(x, michel_cdf)
    print(
        f"KS vs x²(3−2x) on 2000 decays: D = {result.statistic:.4f}, p = {result.pvalue:.3f}; "
        f"mean x {x.mean():.3f} (ref 0.700)"
    )
    assert result.pvalue > 0.01
    assert x.mean() == pytest.approx(0.7, abs=0.02)


def test_michel_energy_endpoint():
    ke = michel_kinetic_energy(np.random.default_rng(3), 5000)
    print(f"Michel KE: max {ke.max():.2f} MeV, endpoint {MICHEL_ENDPOINT_MEV - 0.511:.2f} MeV")
    assert ke.min() >= 0
    assert ke.max() <= MICHEL_ENDPOINT_MEV - 0.51
    assert ke.max() > 51.5


def test_mu_minus_decay_fraction():
    n = 20_000
    frac = mu_minus_decays(np.random.default_rng(11), n).mean()
    sigma = np.sqrt(0.26 * 0.74 / n)
    print(
        f"μ− decay fraction {frac:.4f} vs 0.26 (±{3 * sigma:.4f} at 3σ); "
        f"constant {MU_MINUS_DECAY_PROBABILITY:.4f}"
    )
    assert abs(frac - 0.26) < 3 * sigma + abs(MU_MINUS_DECAY_PROBABILITY - 0.26)
    assert MU_MINUS_DECAY_PROBABILITY == pytest.approx(0.26, abs=0.005)
