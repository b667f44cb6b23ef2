"""Event composition: the ambient γ rays and what they leave in the detector."""

import numpy as np

from lartpc_seg.constants import VOXEL_CM
from lartpc_seg.labels import Label
from lartpc_seg.simulation import SimulationConfig, simulate_primaries
from lartpc_seg.simulation.composition import compose_event
from lartpc_seg.simulation.transport import PHOTON


def _no_vertex(**overrides) -> SimulationConfig:
    return SimulationConfig(
        grid=128, vertex_particles=[0, 0], cosmic_tracks=[1, 1], stopping_muons=[1, 1], **overrides
    )


def test_ambient_photons_follow_the_other_primaries_within_their_ranges():
    config = _no_vertex(ambient_photons=[3, 5], ambient_photon_mev=[1.0, 2.0])
    size = config.grid * VOXEL_CM
    counts = set()
    for seed in range(20):
        without = compose_event(_no_vertex(), np.random.default_rng(seed))
        primaries = compose_event(config, np.random.default_rng(seed))
        # the cosmic and the stopping muon come first, drawn exactly as without ambient γ rays
        assert len(without) == 2
        for a, b in zip(without, primaries[:2], strict=True):
            assert (a.pdg, a.ke_mev) == (b.pdg, b.ke_mev)
            np.testing.assert_array_equal(a.start_cm, b.start_cm)
        ambient = primaries[2:]
        counts.add(len(ambient))
        assert 3 <= len(ambient) <= 5
        for p in ambient:
            assert p.pdg == PHOTON and 1.0 <= p.ke_mev <= 2.0
            assert ((p.start_cm >= 0.0) & (p.start_cm < size)).all()
            assert np.isclose(np.linalg.norm(p.direction), 1.0)
    assert counts == {3, 4, 5}


def test_without_ambient_photons_the_generator_is_left_as_it_was():
    # [0, 0] draws nothing, so datasets simulated before the option existed are unchanged: the
    # draw after composing an event equals the one of the code before the option (13 primaries)
    assert SimulationConfig().ambient_photons == [0, 0]
    rng = np.random.default_rng(4)
    primaries = compose_event(SimulationConfig(grid=128), rng)
    assert len(primaries) == 13
    assert rng.random() == 0.4873567562930381


def test_ambient_photon_blobs_are_shower_in_both_label_sets():
    config = SimulationConfig(
        grid=128,
        vertex_particles=[0, 0],
        cosmic_tracks=[0, 0],
        stopping_muons=[0, 0],
        ambient_photons=[6, 6],
        ambient_photon_mev=[2.0, 4.0],
    )
    rng = np.random.default_rng(11)
    voxels = 0
    for _ in range(5):
        primaries = compose_event(config, rng)
        assert len(primaries) == 6
        ev = simulate_primaries(config, rng, primaries)
        voxels += len(ev)
        assert (ev.label == Label.SHOWER).all()
        assert (ev.relabel == Label.SHOWER).all()
        assert ev.energy.sum() <= 6 * 4.0 + 1e-3  # at most the γ rays' energy
    assert voxels > 0
