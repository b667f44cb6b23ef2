"""End-to-end physics of single particles transported by the simulator."""

import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from lartpc_seg.constants import MUON_MASS_MEV, VOXEL_CM
from lartpc_seg.labels import TOUCH_RADIUS_VOX, Label, Process
from lartpc_seg.simulation import Primary, SimulationConfig, simulate_primaries
from lartpc_seg.simulation.electromagnetic import attenuation_length_cm
from lartpc_seg.simulation.geometry import isotropic


def _muon_along_x(grid: int, ke: float, y: float) -> Primary:
    size = grid * VOXEL_CM
    return Primary(13, ke, np.array([1e-3, y * size, 0.5 * size]), np.array([1.0, 0.0, 0.0]))


def test_delta_ray_rate_matches_pdg_table():
    # 1 GeV/c muons: N(T > 1 MeV) = 0.091 per cm (docs/physics.md §3)
    grid = 192
    config = SimulationConfig(grid=grid, delta_cut_mev=1.0)
    ke = np.sqrt(1000.0**2 + MUON_MASS_MEV**2) - MUON_MASS_MEV
    rng = np.random.default_rng(5)
    n_delta, length = 0, 0.0
    for _ in range(60):
        ev = simulate_primaries(config, rng, [_muon_along_x(grid, ke, 0.5)])
        p = ev.particles
        n_delta += int(((p.process == Process.muIoni) & (p.ke > 1.0)).sum())
        length += float(np.linalg.norm(p.end[0] - p.start[0])) * VOXEL_CM
    rate = n_delta / length
    print(f"δ rays above 1 MeV: {rate:.4f}/cm over {length:.0f} cm ({n_delta} δ) vs PDG 0.091/cm")
    assert rate == pytest.approx(0.091, rel=0.3)


@pytest.mark.parametrize("energy", [1.0, 5.0, 20.0])
def test_photon_free_path_matches_attenuation_table(energy):
    grid = 2000  # 6 m cube: no photon escapes before its first interaction
    config = SimulationConfig(grid=grid)
    rng = np.random.default_rng(int(energy * 10))
    centre = np.full(3, 0.5 * grid * VOXEL_CM)
    primaries = [Primary(22, energy, centre, d) for d in isotropic(rng, 1500)]
    ev = simulate_primaries(config, rng, primaries)
    p = ev.particles
    photons = np.flatnonzero(p.parent == -1)
    first = {}
    for i in np.flatnonzero(np.isin(p.parent, photons)):
        first.setdefault(int(p.parent[i]), i)  # daughters are stored in creation order
    starts = np.array([p.start[first[k]] for k in photons if k in first])
    path = np.linalg.norm(starts - centre / VOXEL_CM, axis=1).mean() * VOXEL_CM
    ref = float(attenuation_length_cm(np.array([energy]))[0])
    print(
        f"{energy} MeV photons: mean free path {path:.2f} cm vs table {ref:.2f} cm "
        f"({len(starts)} photons)"
    )
    assert path == pytest.approx(ref, rel=0.1)


def test_mip_deposit_per_voxel_along_axis():
    # ≈ 0.63 MeV per 3 mm voxel for a minimum-ionising muon along an axis (docs/physics.md §3)
    grid = 192
    config = SimulationConfig(grid=grid)
    rng = np.random.default_rng(9)
    total, mip = [], []
    for y in np.linspace(0.3, 0.7, 8):
        ev = simulate_primaries(config, rng, [_muon_along_x(grid, 400.0, y)])
        total.append(ev.energy.sum() / grid)
        mip.append(ev.energy[ev.label == Label.MIP].sum() / grid)
    print(
        f"mean deposit per 3 mm of track: all voxels {np.mean(total):.3f} MeV, "
        f"MIP-labelled {np.mean(mip):.3f} MeV (ref 0.63)"
    )
    assert np.mean(total) == pytest.approx(0.63, rel=0.15)
    assert np.mean(mip) == pytest.approx(0.63, rel=0.2)


def test_tracks_are_wide_enough_for_dbscan():
    # DBSCAN(2√2, min_samples=10) on MIP voxels, true labels, isotropic muons of 100–1000 MeV
    grid = 192
    config = SimulationConfig(grid=grid)
    rng = np.random.default_rng(21)
    kept, total = 0, 0
    for _ in range(30):
        start = rng.uniform(0.2, 0.8, 3) * grid * VOXEL_CM
        ev = simulate_primaries(
            config, rng, [Primary(13, rng.uniform(100, 1000), start, isotropic(rng, 1)[0])]
        )
        coords = ev.coords[ev.label == Label.MIP]
        labels = DBSCAN(eps=TOUCH_RADIUS_VOX, min_samples=10).fit(coords).labels_
        kept += int((labels >= 0).sum())
        total += len(labels)
    print(f"MIP voxels in DBSCAN clusters: {100 * kept / total:.2f} % of {total}")
    assert kept / total >= 0.9


def test_stopping_mu_plus_gives_a_michel_touching_its_end():
    grid = 128
    config = SimulationConfig(grid=grid)
    rng = np.random.default_rng(4)
    for _ in range(5):
        start = np.full(3, 0.5 * grid * VOXEL_CM)
        ev = simulate_primaries(config, rng, [Primary(-13, 60.0, start, isotropic(rng, 1)[0])])
        p = ev.particles
        michel = np.flatnonzero(p.process == Process.Decay)
        assert len(michel) == 1 and p.pdg[michel[0]] == -11 and p.parent[michel[0]] == 0
        assert p.cls[michel[0]] == Label.MICHEL
        np.testing.assert_allclose(p.start[michel[0]], p.end[0], atol=1e-4)
        assert (ev.label == Label.MICHEL).sum() > 5
        # the Michel's brems photons carry its deposit label, not shower
        brems = (p.parent == michel[0]) & (p.process == Process.eBrem)
        michel_family = ev.label[np.isin(ev.part, np.flatnonzero(brems))]
        assert (michel_family == Label.MICHEL).all()
        # energy is conserved: deposits + energy of escaping particles ≤ initial
        assert ev.energy.sum() <= 60.0 + 52.4 + 1e-3


def test_captured_mu_minus_emits_shower_photons_from_its_end():
    grid = 128
    config = SimulationConfig(grid=grid, capture_photons=[2, 3], capture_photon_mev=[1.0, 3.0])
    rng = np.random.default_rng(8)
    captures = 0
    for _ in range(12):
        start = np.full(3, 0.5 * grid * VOXEL_CM)
        ev = simulate_primaries(config, rng, [Primary(13, 60.0, start, isotropic(rng, 1)[0])])
        p = ev.particles
        gammas = np.flatnonzero((p.parent == 0) & (p.pdg == 22))
        # the μ− decay electron is created by muMinusCaptureAtRest too (docs/study.md §1)
        decayed = bool(
            ((p.parent == 0) & (p.pdg == 11) & (p.process == Process.muMinusCaptureAtRest)).any()
        )
        if decayed:  # the 26 % that decay emit a Michel electron and no capture γ
            assert len(gammas) == 0
            continue
        captures += 1
        assert 2 <= len(gammas) <= 3
        assert (p.process[gammas] == Process.muMinusCaptureAtRest).all()
        assert ((p.ke[gammas] >= 1.0) & (p.ke[gammas] <= 3.0)).all()
        np.testing.assert_allclose(p.start[gammas], np.repeat(p.end[:1], len(gammas), 0), atol=1e-4)
        assert (p.cls[gammas] == Label.SHOWER).all()
        # their Compton electrons deposit Shower, never Michel
        assert not (ev.label == Label.MICHEL).any()
    assert captures >= 5


def test_capture_photons_are_off_by_default():
    grid = 128
    rng = np.random.default_rng(9)
    start = np.full(3, 0.5 * grid * VOXEL_CM)
    for _ in range(6):
        ev = simulate_primaries(
            SimulationConfig(grid=grid), rng, [Primary(13, 60.0, start, isotropic(rng, 1)[0])]
        )
        p = ev.particles
        assert not ((p.parent == 0) & (p.pdg == 22)).any()


def test_mu_minus_decays_in_orbit_with_the_bound_spectrum():
    """μ− that decay give electrons above the free endpoint now and then; μ+ never do."""
    from lartpc_seg.constants import ELECTRON_MASS_MEV, MICHEL_ENDPOINT_MEV

    grid = 64
    config = SimulationConfig(grid=grid)
    rng = np.random.default_rng(10)
    start = np.full(3, 0.5 * grid * VOXEL_CM)
    energies = {13: [], -13: []}
    for pdg in (13, -13):
        for _ in range(800 if pdg == 13 else 200):
            ev = simulate_primaries(config, rng, [Primary(pdg, 5.0, start, isotropic(rng, 1)[0])])
            p = ev.particles
            e = (p.parent == 0) & (np.abs(p.pdg) == 11)
            energies[pdg].extend(p.ke[e].tolist())
    endpoint = MICHEL_ENDPOINT_MEV - ELECTRON_MASS_MEV
    assert 160 < len(energies[13]) < 250  # 26 % of 800
    assert len(energies[-13]) == 200 and max(energies[-13]) <= endpoint + 1e-3
    # 3.7 % of bound decays lie above the free endpoint: ~8 expected here
    assert (np.array(energies[13]) > endpoint + 1e-3).sum() >= 2


def test_stopped_pi_minus_is_absorbed_by_the_nucleus():
    from lartpc_seg.constants import PION_ABSORPTION_PP_PROBABILITY

    grid = 64
    config = SimulationConfig(grid=grid, capture_photons=[1, 2])
    rng = np.random.default_rng(12)
    start = np.full(3, 0.5 * grid * VOXEL_CM)
    protons = 0
    n = 300
    for _ in range(n):
        ev = simulate_primaries(config, rng, [Primary(-211, 5.0, start, isotropic(rng, 1)[0])])
        p = ev.particles
        children = np.flatnonzero(p.parent == 0)
        assert (p.process[children] == Process.hadronic).all()
        assert not (np.abs(p.pdg[children]) == 13).any()  # no decay: π− → μ− ν is for π+
        gammas = children[p.pdg[children] == 22]
        assert 1 <= len(gammas) <= 2 and (p.cls[gammas] == Label.SHOWER).all()
        prot = children[p.pdg[children] == 2212]
        assert len(prot) <= 1
        if len(prot):
            protons += 1
            assert 30.0 < p.ke[prot[0]] < 95.0 and p.cls[prot[0]] == Label.HIP
    assert protons / n == pytest.approx(PION_ABSORPTION_PP_PROBABILITY, abs=0.05)
