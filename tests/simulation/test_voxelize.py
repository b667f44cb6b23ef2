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


def test_priority_labels_contain_the_dominant_ones():
    """On simulated events the priority rule only ever raises a voxel's class."""
    events = {
        rule: [simulate_event(SimulationConfig(grid=96, voxel_label=rule), 7, k) for k in range(4)]
        for rule in ("priority", "dominant")
    }
    raised = 0
    for pri, dom in zip(events["priority"], events["dominant"], strict=True):
        np.testing.assert_array_equal(pri.coords, dom.coords)
        np.testing.assert_array_equal(pri.part, dom.part)
        assert (pri.label >= dom.label).all()
        raised += int((pri.label > dom.label).sum())
    assert raised > 0
