"""Decays at rest: the Michel spectrum and the μ− decay/capture fraction."""

import numpy as np
import pytest
from scipy import stats

from lartpc_seg.constants import (
    ELECTRON_MASS_MEV,
    MICHEL_ENDPOINT_MEV,
    MU_MINUS_DECAY_PROBABILITY,
)
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


def test_bound_spectrum_is_softer_with_a_tail_above_the_free_endpoint():
    from lartpc_seg.constants import MUON_BINDING_AR_MEV
    from lartpc_seg.simulation.decay import bound_michel_kinetic_energy

    rng = np.random.default_rng(21)
    bound = bound_michel_kinetic_energy(rng, 200_000)
    free = michel_kinetic_energy(rng, 200_000)
    endpoint = MICHEL_ENDPOINT_MEV - ELECTRON_MASS_MEV
    assert free.max() <= endpoint + 1e-9
    # a few per cent above the free endpoint (the Doppler tail), none of the free decays
    assert 0.02 < (bound > endpoint).mean() < 0.06
    # lower on average by about the binding energy (the boost adds ~0.2 MeV)
    assert 0.2 < free.mean() - bound.mean() < MUON_BINDING_AR_MEV + 0.1
    # the free spectrum's sharp edge is smeared: fewer electrons in the last 2 MeV below it
    last = (endpoint - 2.0, endpoint)
    in_last = [((e > last[0]) & (e <= last[1])).mean() for e in (bound, free)]
    assert in_last[0] < 0.6 * in_last[1]
    assert (bound > 0).all()
