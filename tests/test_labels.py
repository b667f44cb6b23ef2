"""Classes, processes and the relabeling of docs/study.md §2 on hand-built events."""

import numpy as np
import pytest

from lartpc_seg.labels import (
    Label,
    Process,
    from_pilarnet,
    particle_class,
    relabel,
    relabeled_fraction,
)

TRACK = [[x, 10, 10] for x in range(20)]


def _event(*groups):
    coords = np.concatenate([np.asarray(c) for c, _ in groups])
    labels = np.concatenate([np.full(len(c), lab) for c, lab in groups])
    return coords, labels


def test_attached_michel_stays_detached_becomes_shower():
    attached = [[20, 10, 10], [21, 11, 10], [22, 12, 10]]  # continues the track's end
    detached = [[40, 30, 10], [41, 30, 10]]  # a photon's Compton blob 20+ voxels away
    coords, labels = _event((TRACK, Label.MIP), (attached, Label.MICHEL), (detached, Label.MICHEL))
    out = relabel(coords, labels)
    assert (out[20:23] == Label.MICHEL).all()
    assert (out[23:] == Label.SHOWER).all()
    assert (out[:20] == Label.MIP).all()
    assert relabeled_fraction(labels, out) == pytest.approx(2 / 5)


def test_a_cluster_keeps_its_label_if_any_voxel_touches():
    # A delta ray whose far end is 6 voxels from the track: one cluster, touching at one end.
    delta = [[5, 11 + k, 10] for k in range(6)]
    coords, labels = _event((TRACK, Label.MIP), (delta, Label.DELTA))
    assert (relabel(coords, labels)[20:] == Label.DELTA).all()


def test_touching_radius_is_two_root_two():
    # Closest approach (2, 2, 0) voxels: distance exactly 2√2 counts as touching;
    # (2, 2, 1) is 3 voxels: detached.
    for offset, kept in (([2, 2, 0], True), ([2, 2, 1], False)):
        blob = [np.add([19, 10, 10], offset).tolist()]
        coords, labels = _event((TRACK, Label.HIP), (blob, Label.MICHEL))
        expected = Label.MICHEL if kept else Label.SHOWER
        assert relabel(coords, labels)[-1] == expected


def test_event_without_tracks_turns_delta_and_michel_into_shower():
    coords, labels = _event(
        ([[0, 0, 0], [1, 0, 0]], Label.MICHEL),
        ([[5, 5, 5]], Label.DELTA),
        ([[9, 9, 9]], Label.SHOWER),
    )
    assert (relabel(coords, labels) == Label.SHOWER).all()


def test_empty_event_and_shape_errors():
    assert relabel(np.zeros((0, 3), int), np.zeros(0, np.int8)).shape == (0,)
    with pytest.raises(ValueError, match="shape"):
        relabel(np.zeros((3, 2), int), np.zeros(3, np.int8))


def test_particle_classes_follow_study_section_1():
    assert particle_class(2212, Process.primary) == Label.HIP
    assert particle_class(13, Process.primary) == Label.MIP
    assert particle_class(211, Process.hadronic) == Label.MIP
    assert particle_class(22, Process.eBrem) == Label.SHOWER
    assert particle_class(11, Process.compt) == Label.SHOWER
    assert particle_class(-11, Process.conv) == Label.SHOWER
    assert particle_class(11, Process.muIoni) == Label.DELTA
    assert particle_class(11, Process.hIoni) == Label.DELTA
    for process in (Process.Decay, Process.muMinusCaptureAtRest, Process.muPlusCaptureAtRest):
        assert particle_class(-11, process) == Label.MICHEL
    assert particle_class(11, Process.eIoni) is None  # inherits its ancestor's class


def test_pilarnet_mapping():
    np.testing.assert_array_equal(
        from_pilarnet(np.array([0, 1, 2, 3, 4, 5])),
        [Label.SHOWER, Label.MIP, Label.MICHEL, Label.DELTA, Label.SHOWER, -1],
    )
    with pytest.raises(ValueError, match=r"0\.\.5"):
        from_pilarnet(np.array([6]))
