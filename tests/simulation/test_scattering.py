"""Multiple scattering: Highland's width over the whole path, for every step size."""

import numpy as np
import pytest

from lartpc_seg.constants import ELECTRON_MASS_MEV, MUON_MASS_MEV
from lartpc_seg.simulation.energy_loss import (
    ScatteringPath,
    highland_theta0,
    kinematics,
    scattering_widths,
)
from lartpc_seg.simulation.geometry import perpendicular_basis, scattering_walk
from lartpc_seg.simulation.tracks import Medium, track_electron, track_heavy
from lartpc_seg.simulation.transport import range_table

D0 = np.array([1.0, 0.0, 0.0])
N_PARTICLES = 2000


def _projected_angles(directions: np.ndarray) -> np.ndarray:
    """Both plane-projected angles of directions (k, 3) relative to D0, flattened."""
    u, v = perpendicular_basis(D0[None, :])
    along = directions @ D0
    return np.concatenate(
        [np.arctan2(directions @ u[0], along), np.arctan2(directions @ v[0], along)]
    )


def _walk_rms(mass: float, ke: float, length: float, step: float, seed: int) -> float:
    """RMS projected angle after ``length`` cm at fixed momentum, steps of ``step`` cm."""
    rng = np.random.default_rng(seed)
    n = round(length / step)
    p, beta, _ = kinematics(np.full(n, ke), mass)
    widths, _ = scattering_widths(p, beta, np.full(n, step), ScatteringPath())
    # one more zero-width step: the direction after the last step's kick
    ends = [scattering_walk(rng, D0, np.append(widths, 0.0))[-1] for _ in range(N_PARTICLES)]
    return float(np.sqrt(np.mean(_projected_angles(np.array(ends)) ** 2)))


def _highland(mass: float, ke: float, length: float) -> float:
    p, beta, _ = kinematics(np.array(ke), mass)
    return float(highland_theta0(p, beta, length))


@pytest.mark.parametrize(
    ("mass", "ke"), [(MUON_MASS_MEV, 1000.0), (MUON_MASS_MEV, 100.0), (ELECTRON_MASS_MEV, 50.0)]
)
@pytest.mark.parametrize("length", [1.0, 3.0, 10.0])
@pytest.mark.parametrize("step", [0.03, 0.06, 0.3])
def test_rms_angle_is_highland_for_the_whole_path(mass, ke, length, step):
    rms = _walk_rms(mass, ke, length, step, seed=int(10 * length + 100 * step))
    assert rms == pytest.approx(_highland(mass, ke, length), rel=0.05)


def test_step_size_does_not_matter():
    fine = _walk_rms(ELECTRON_MASS_MEV, 30.0, 3.0, 0.03, seed=1)
    coarse = _walk_rms(ELECTRON_MASS_MEV, 30.0, 3.0, 0.3, seed=2)
    assert coarse == pytest.approx(fine, rel=0.05)


def test_per_step_highland_would_be_too_weak():
    """The formula applied per 0.6 mm step and summed in quadrature is ~20 % narrower."""
    p, beta, _ = kinematics(np.array(1000.0), MUON_MASS_MEV)
    per_step = float(highland_theta0(p, beta, 0.06)) * np.sqrt(10.0 / 0.06)
    assert per_step / _highland(MUON_MASS_MEV, 1000.0, 10.0) < 0.85


def _medium(size_cm: float, step_cm: float) -> Medium:
    # brems_cut far above the energies: no bremsstrahlung, so the momentum follows the CSDA
    return Medium(size_cm, step_cm, 0.0, 1.0e6, 1.0e6, 0.8)


def _exit_angles(track, mass, ke, size, seeds):
    start = np.array([1e-6, size / 2, size / 2])
    ends = np.array([track(np.random.default_rng(s), mass, ke, start, size) for s in seeds])
    return float(np.sqrt(np.mean(_projected_angles(ends) ** 2)))


def test_tracked_muons_and_electrons_scatter_as_highland():
    """Particles tracked through a slab leave it at the Highland angle of its thickness.

    Electrons cross 20 cm, longer than one tracking segment (12 cm), so the width must carry
    over from segment to segment. The reference takes p at mid-path (p falls by < 10 %).
    """
    size = 10.0

    def muon(rng, mass, ke, start, size):
        table = range_table(13)
        return track_heavy(rng, _medium(size, 0.06), table, mass, ke, start, D0).end_direction

    rms = _exit_angles(muon, MUON_MASS_MEV, 1000.0, size, range(1500))
    mid = float(range_table(13).energy(range_table(13).range(1000.0) - size / 2))
    assert rms == pytest.approx(_highland(MUON_MASS_MEV, mid, size), rel=0.05)

    size = 20.0

    def electron(rng, mass, ke, start, size):
        return track_electron(
            rng, _medium(size, 0.06), range_table(11), ke, start, D0
        ).end_direction

    rms = _exit_angles(electron, ELECTRON_MASS_MEV, 400.0, size, range(1500))
    mid = float(range_table(11).energy(range_table(11).range(400.0) - size / 2))
    assert rms == pytest.approx(_highland(ELECTRON_MASS_MEV, mid, size), rel=0.05)
