"""SimulationConfig: defaults, round trip, and errors naming the bad key."""

import pytest

from lartpc_seg.simulation import SimulationConfig


def test_round_trip_and_override():
    config = SimulationConfig.from_dict({"grid": 128, "muon_ke": [30, 40], "mu_plus_fraction": 1})
    assert config.grid == 128 and config.muon_ke == [30.0, 40.0]
    assert config.mu_plus_fraction == 1.0
    assert SimulationConfig.from_dict(config.to_dict()) == config


def test_unknown_key_is_named():
    with pytest.raises(ValueError, match="'gird'"):
        SimulationConfig.from_dict({"gird": 128})


@pytest.mark.parametrize(
    "bad",
    [
        {"muon_ke": [50, 10]},
        {"mu_plus_fraction": 1.5},
        {"vertex_species": {"kaon": 1.0}},
        {"grid": 2},
        {"step_mm": 0},
    ],
)
def test_bad_values_raise(bad):
    with pytest.raises(ValueError):
        SimulationConfig.from_dict(bad)


def test_voxel_threshold_is_three_times_the_readout_noise():
    from lartpc_seg import constants

    noise_mev = 400 * 23.6e-6 / 0.70  # ENC (e−) × W_ion (MeV) / recombination survival
    assert constants.READOUT_NOISE_MEV == pytest.approx(noise_mev)
    assert SimulationConfig().voxel_threshold_mev == pytest.approx(3 * noise_mev)
    assert 0.035 < SimulationConfig().voxel_threshold_mev < 0.045
