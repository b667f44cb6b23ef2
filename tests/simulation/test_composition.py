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


def _vertex_config(**overrides) -> SimulationConfig:
    values = {
        "grid": 128,
        "vertex_particles": [2, 6],
        "vertex_species": {"lepton": 3.0, "pi0": 1.0, "pion": 1.0, "proton": 3.0},
        "vertex_multiplicity": {"lepton": [1, 1], "pi0": [0, 2], "pion": [0, 2], "proton": [0, 4]},
        "lepton_ke": [50, 800],
        "pi0_ke": [50, 400],
        "pion_ke": [50, 400],
        "proton_ke": [50, 400],
        "cosmic_tracks": [0, 0],
        "stopping_muons": [0, 0],
    }
    values.update(overrides)
    return SimulationConfig.from_dict(values)


def test_vertex_follows_the_particle_bomb_multiplicities():
    from lartpc_seg.simulation.composition import LEPTON_PDGS

    config = _vertex_config()
    sizes, leptons, protons = [], set(), 0
    for seed in range(400):
        primaries = compose_event(config, np.random.default_rng(seed))
        pdgs = [p.pdg for p in primaries]
        assert 2 <= len(pdgs) <= 6
        assert sum(p in LEPTON_PDGS for p in pdgs) == 1  # exactly one lepton, always first
        assert pdgs[0] in LEPTON_PDGS
        assert sum(p == 111 for p in pdgs) <= 2 and sum(abs(p) == 211 for p in pdgs) <= 2
        assert sum(p == 2212 for p in pdgs) <= 4
        np.testing.assert_array_equal(primaries[0].start_cm, primaries[-1].start_cm)
        for p in primaries:
            low, high = {11: (50, 800), 13: (50, 800), 111: (50, 400), 211: (50, 400)}.get(
                abs(p.pdg), (50, 400)
            )
            assert low <= p.ke_mev <= high
        sizes.append(len(pdgs))
        leptons.add(pdgs[0])
        protons += sum(p == 2212 for p in pdgs)
    assert set(sizes) == {2, 3, 4, 5, 6}
    assert leptons == set(LEPTON_PDGS)
    # weights 3:1:1:3 after the lepton: protons are ~3/5 of the other particles
    others = sum(sizes) - len(sizes)
    assert 0.5 < protons / others < 0.7


def test_vertex_multiplicity_is_checked():
    import pytest

    with pytest.raises(ValueError, match="not in vertex_species"):
        _vertex_config(vertex_multiplicity={"kaon": [0, 1]})
    with pytest.raises(ValueError, match="at least 3"):
        _vertex_config(vertex_multiplicity={"lepton": [3, 3]})
    with pytest.raises(ValueError, match="fewest, most"):
        _vertex_config(vertex_multiplicity={"lepton": [2, 1]})


def test_a_vertex_ends_when_every_species_is_full():
    config = _vertex_config(
        vertex_particles=[6, 6],
        vertex_species={"lepton": 1.0, "proton": 1.0},
        vertex_multiplicity={"lepton": [1, 1], "proton": [0, 2]},
    )
    for seed in range(20):
        assert len(compose_event(config, np.random.default_rng(seed))) == 3
