"""Voxelisation: summing, dominant particle and the label of voxels several particles share."""

import numpy as np
import pytest

from lartpc_seg.labels import Label
from lartpc_seg.simulation import SimulationConfig, simulate_event
from lartpc_seg.simulation.voxelize import voxelize

#: Particle 0 a muon (MIP), 1 a δ ray, 2 a proton (HIP).
PARTICLE_LABEL = np.array([Label.MIP, Label.DELTA, Label.HIP], np.int8)


def _voxelize(points, energy, particle, rule, threshold=0.05):
    return voxelize(
        np.random.default_rng(0),
        np.asarray(points, float),
        np.asarray(energy, float),
        np.asarray(particle),
        PARTICLE_LABEL,
        grid=8,
        sigma_vox=0.0,
        threshold_mev=threshold,
        rule=rule,
    )


# voxel (1,1,1): muon 0.6 MeV + δ 0.1 MeV; voxel (2,1,1): δ alone; voxel (5,5,5): muon 0.04 +
# proton 0.03 (summed 0.07, above the 0.05 threshold though neither part is)
POINTS = [
    [1.2, 1.5, 1.5],
    [1.7, 1.5, 1.5],
    [1.5, 1.2, 1.1],
    [2.5, 1.5, 1.5],
    [5.5, 5.5, 5.5],
    [5.1] * 3,
]
ENERGY = [0.3, 0.3, 0.1, 0.4, 0.04, 0.03]
PARTICLE = [0, 0, 1, 1, 0, 2]


def test_priority_rule_gives_a_shared_voxel_the_highest_class():
    vox = _voxelize(POINTS, ENERGY, PARTICLE, "priority")
    np.testing.assert_array_equal(vox.coords, [[1, 1, 1], [2, 1, 1], [5, 5, 5]])
    np.testing.assert_allclose(vox.energy, [0.7, 0.4, 0.07], rtol=1e-6)
    np.testing.assert_array_equal(vox.part, [0, 1, 0])
    np.testing.assert_array_equal(vox.label, [Label.DELTA, Label.DELTA, Label.MIP])
    np.testing.assert_allclose(vox.edep, [0.64, 0.5, 0.03])


def test_dominant_rule_gives_a_shared_voxel_its_dominant_particle_class():
    vox = _voxelize(POINTS, ENERGY, PARTICLE, "dominant")
    np.testing.assert_array_equal(vox.part, [0, 1, 0])
    np.testing.assert_array_equal(vox.label, [Label.MIP, Label.DELTA, Label.MIP])


def test_voxelize_without_deposits_inside():
    vox = _voxelize([[9.0, 0.0, 0.0]], [1.0], [0], "priority")
    assert vox.coords.shape == (0, 3)
    assert len(vox.label) == 0 and vox.label.dtype == np.int8


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="voxel label rule"):
        _voxelize(POINTS, ENERGY, PARTICLE, "majority")
    with pytest.raises(ValueError, match="voxel_label"):
        SimulationConfig(voxel_label="majority")


def test_rules_share_voxels_and_differ_where_particles_overlap():
    """On simulated events both rules give the same voxels; the priority rule raises shared
    voxels (a δ ray owns the voxel where it leaves its muon) and lowers the muon's own voxels
    that δ charge dominates only through the spread."""
    events = {
        rule: [simulate_event(SimulationConfig(grid=96, voxel_label=rule), 7, k) for k in range(4)]
        for rule in ("priority", "dominant")
    }
    raised = lowered = total = 0
    for pri, dom in zip(events["priority"], events["dominant"], strict=True):
        np.testing.assert_array_equal(pri.coords, dom.coords)
        np.testing.assert_array_equal(pri.part, dom.part)
        raised += int((pri.label > dom.label).sum())
        lowered += int((pri.label < dom.label).sum())
        total += len(pri.label)
    assert raised > 0 and lowered > 0
    assert raised + lowered < 0.05 * total


# Particle table of the δ-ray merging tests: 0 a muon, 1 a δ ray it emitted, 2 a photon of
# the δ ray (deposit label delta), 3 a second δ ray of the muon, 4 a proton.
MERGE_LABEL = np.array([Label.MIP, Label.DELTA, Label.DELTA, Label.DELTA, Label.HIP], np.int8)
MERGE_PARENT = np.array([-1, 0, 1, 0, -1])


def _merge_event(min_voxels):
    """A muon along x; δ 1 shares 2 of its voxels and has 3 own (one from its photon 2);
    δ 3 shares 1 and has 12 own; the proton stands alone."""
    points, particle = [], []
    for x in range(20):
        points.append([x + 0.5, 1.5, 1.5])
        particle.append(0)
    for p in ([3.5, 1.5, 1.5], [4.5, 1.5, 1.5], [4.5, 2.5, 1.5], [4.5, 3.5, 1.5]):
        points.append(p)
        particle.append(1)
    points.append([4.5, 4.5, 1.5])
    particle.append(2)
    points.append([10.5, 1.5, 1.5])
    particle.append(3)
    for y in range(2, 14):
        points.append([10.5, y + 0.5, 2.5])
        particle.append(3)
    points.append([30.5, 30.5, 30.5])
    particle.append(4)
    return voxelize(
        np.random.default_rng(0),
        np.asarray(points, float),
        np.full(len(points), 0.5),
        np.asarray(particle),
        MERGE_LABEL,
        grid=32,
        sigma_vox=0.0,
        threshold_mev=0.05,
        particle_parent=MERGE_PARENT,
        delta_min_voxels=min_voxels,
    )


def _label_at(vox, xyz):
    return int(vox.label[np.flatnonzero((vox.coords == xyz).all(axis=1))[0]])


def test_delta_groups_follow_the_cascade_to_the_delta_electron():
    from lartpc_seg.simulation.voxelize import delta_groups

    np.testing.assert_array_equal(delta_groups(MERGE_LABEL, MERGE_PARENT), [-1, 1, 1, 3, -1])
    # a longer chain: 0 MIP -> 1 δ -> 2 δ -> 3 δ; 4 shower from the muon
    labels = np.array([Label.MIP, Label.DELTA, Label.DELTA, Label.DELTA, Label.SHOWER])
    np.testing.assert_array_equal(delta_groups(labels, [-1, 0, 1, 2, 0]), [-1, 1, 1, 1, -1])


def test_a_delta_ray_with_too_few_own_voxels_takes_its_tracks_label():
    kept = _merge_event(0)
    merged = _merge_event(4)
    np.testing.assert_array_equal(kept.coords, merged.coords)
    np.testing.assert_array_equal(kept.part, merged.part)
    # δ 1 (3 own voxels, its photon's included) is merged at 4, kept at 3
    for xyz in ([3, 1, 1], [4, 1, 1], [4, 2, 1], [4, 3, 1], [4, 4, 1]):
        assert _label_at(kept, xyz) == Label.DELTA
        assert _label_at(merged, xyz) == Label.MIP
    assert _label_at(_merge_event(3), [4, 4, 1]) == Label.DELTA
    # δ 3 (12 own voxels) stays delta, the shared voxel included; the proton is untouched
    assert _label_at(merged, [10, 1, 1]) == Label.DELTA
    assert _label_at(merged, [10, 13, 2]) == Label.DELTA
    assert _label_at(_merge_event(13), [10, 13, 2]) == Label.MIP
    assert _label_at(merged, [30, 30, 30]) == Label.HIP
    assert (merged.label != kept.label).sum() == 5


def test_delta_merging_needs_the_parents_and_a_non_negative_size():
    with pytest.raises(ValueError, match="particle_parent"):
        voxelize(
            np.random.default_rng(0),
            np.asarray(POINTS, float),
            np.asarray(ENERGY, float),
            np.asarray(PARTICLE),
            PARTICLE_LABEL,
            grid=8,
            sigma_vox=0.0,
            threshold_mev=0.05,
            delta_min_voxels=10,
        )
    with pytest.raises(ValueError, match="delta_min_voxels"):
        SimulationConfig(delta_min_voxels=-1)


def test_simulated_delta_merging_changes_only_small_delta_labels():
    base = {"grid": 96, "cosmic_tracks": [3, 3], "stopping_muons": [1, 1]}
    changed_any = kept_any = False
    for k in range(4):
        plain = simulate_event(SimulationConfig.from_dict(base), 5, k)
        merged = simulate_event(SimulationConfig.from_dict({**base, "delta_min_voxels": 10}), 5, k)
        np.testing.assert_array_equal(plain.coords, merged.coords)
        np.testing.assert_array_equal(plain.energy, merged.energy)
        changed = plain.label != merged.label
        assert (plain.label[changed] == Label.DELTA).all()
        assert np.isin(merged.label[changed], [Label.HIP, Label.MIP]).all()
        changed_any |= bool(changed.any())
        kept_any |= bool((merged.label == Label.DELTA).any())
    assert changed_any and kept_any


def _spread_event(rule):
    """A muon along x (200 points per voxel) and a δ ray of 40 points in voxel (6, 2, 2) only,
    charge spread by 0.4 voxel: δ charge leaks into the muon's voxels and its neighbours."""
    rng = np.random.default_rng(3)
    muon = np.stack([rng.uniform(0, 12, 2400), np.full(2400, 2.5), np.full(2400, 2.5)], axis=1)
    delta = np.stack([np.full(40, 6.5), np.full(40, 2.9), rng.uniform(2.1, 2.9, 40)], axis=1)
    points = np.concatenate([muon, delta])
    energy = np.concatenate([np.full(2400, 0.003), np.full(40, 0.02)])
    particle = np.concatenate([np.zeros(2400, int), np.ones(40, int)])
    return (
        voxelize(
            np.random.default_rng(0),
            points,
            energy,
            particle,
            PARTICLE_LABEL,
            grid=16,
            sigma_vox=0.4,
            threshold_mev=0.01,
            rule=rule,
        ),
        points,
        particle,
    )


def test_priority_labels_come_from_true_positions():
    vox, points, particle = _spread_event("priority")
    true_keys = {tuple(k) for k in np.floor(points).astype(int)}
    delta_keys = {tuple(k) for k in np.floor(points[particle == 1]).astype(int)}
    assert delta_keys == {(6, 2, 2)}
    for xyz, label, part, true in zip(
        map(tuple, vox.coords), vox.label, vox.part, vox.true_voxel, strict=True
    ):
        assert true == (xyz in true_keys)
        if xyz in delta_keys:
            assert label == Label.DELTA  # shared with the muon, which dominates it
            assert part == 0
        elif true:
            assert label == Label.MIP  # the muon's own voxels, whatever δ charge leaked in
        else:
            assert label == PARTICLE_LABEL[part]  # reached by the spread only: dominant particle
    spread_delta = int(((vox.part == 1) & ~vox.true_voxel).sum())
    assert spread_delta > 0
    assert (vox.label == Label.DELTA).sum() == 1 + spread_delta


def test_dominant_rule_ignores_true_positions():
    vox, _, _ = _spread_event("dominant")
    np.testing.assert_array_equal(vox.label, PARTICLE_LABEL[vox.part])
