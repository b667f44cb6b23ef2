"""LArCV2 import: voxel ids, particle tables (on the real 2D files), and whole imports.

The real files in tests/data/larcv2 (provenance in its README) are 2D (``image2d_data_tree``,
``particle_mctruth_tree``); the 3D import is tested on a copy of one of them to which the
``sparse3d`` trees are added with uproot, their leaves named as the split LArCV2 leaves are.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from lartpc_seg.cli import main
from lartpc_seg.constants import MASS_BY_PDG_MEV
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import EventFile, ParticleTable, file_problems
from lartpc_seg.io.larcv import (
    ImportOptions,
    ParticleRecords,
    Producers,
    VoxelMeta,
    assign_by_clusters,
    assign_by_proximity,
    decode_voxel_ids,
    encode_voxel_ids,
    energy_scale_to_mev,
    import_larcv,
    parent_indices,
    particle_classes,
    particle_table,
    process_codes,
    read_particles,
)
from lartpc_seg.labels import Label, Process

#: The real LArCV2 files, kept in the repository (tests/data/larcv2/README.md).
TESTDATA = Path(__file__).resolve().parents[1] / "data" / "larcv2"
NUM = 16
VOXEL_CM = 0.3
ORIGIN_CM = np.array([100.0, 20.0, 300.0])
MCTRUTH = Producers(particles="mctruth")


# --- voxel ids -----------------------------------------------------------------------------


def test_decode_voxel_ids_known_values():
    num = (4, 5, 6)
    ids = np.array([0, 1, 4, 20, 4 * 5 * 6 - 1, 2 + 3 * 4 + 5 * 20], np.uint64)
    expected = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [3, 4, 5], [2, 3, 5]]
    np.testing.assert_array_equal(decode_voxel_ids(ids, num), expected)


def test_decode_encode_roundtrip_on_a_768_cube():
    rng = np.random.default_rng(1)
    coords = rng.integers(0, 768, size=(10_000, 3))
    ids = encode_voxel_ids(coords, (768, 768, 768))
    assert ids.dtype == np.uint64
    np.testing.assert_array_equal(decode_voxel_ids(ids, (768, 768, 768)), coords)


def test_decode_rejects_an_id_outside_the_volume():
    with pytest.raises(ValueError, match="outside the 2x2x2 volume"):
        decode_voxel_ids(np.array([8], np.uint64), (2, 2, 2))


# --- particle tables -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "pdg", "cls"), [("proton", 2212, Label.HIP), ("electron", 11, Label.SHOWER)]
)
def test_particle_tree_of_the_real_files(name, pdg, cls):
    path = TESTDATA / f"{name}.root"
    with uproot.open(path) as file:
        event_id, records = read_particles(path, file["particle_mctruth_tree"])
    assert len(records) == 10
    np.testing.assert_array_equal(event_id[:, 2], np.arange(1, 11))
    assert all(len(r.pdg) == 1 and r.pdg[0] == pdg for r in records)
    assert all(r.process == ["primary"] for r in records)
    # These generator-level trees store energy_init in GeV and momenta in MeV.
    scale = energy_scale_to_mev(path, records, "auto")
    assert scale == 1000.0
    meta = VoxelMeta(np.array([NUM] * 3), ORIGIN_CM, np.full(3, VOXEL_CM))
    for r in records:
        table = particle_table(r, meta, scale)
        p = np.linalg.norm(r.momentum_mev[0])
        m = MASS_BY_PDG_MEV[pdg]
        ke_from_p = np.sqrt(p**2 + m**2) - m
        assert table.ke[0] == pytest.approx(ke_from_p, abs=0.05)  # MeV
        assert table.parent[0] == -1
        assert table.process[0] == Process.primary
        assert table.cls[0] == cls
        np.testing.assert_allclose(
            table.start[0], (r.start_cm[0] - ORIGIN_CM) / VOXEL_CM, rtol=1e-6
        )


def test_first_proton_kinetic_energy_by_hand():
    path = TESTDATA / "proton.root"
    with uproot.open(path) as file:
        _, records = read_particles(path, file["particle_mctruth_tree"], 0, 1)
    r = records[0]
    assert r.energy_init[0] == pytest.approx(1.1388072, abs=1e-6)  # GeV, read from the file
    table = particle_table(r, VoxelMeta(np.full(3, NUM), ORIGIN_CM, np.full(3, VOXEL_CM)), 1000.0)
    assert table.ke[0] == pytest.approx(1138.8072 - 938.2721, abs=1e-3)


def test_energy_scale_refuses_an_inconsistent_unit():
    # A 300 MeV/c muon has E = 316.1 MeV: energy_init = 5 is neither MeV nor GeV.
    record = ParticleRecords(
        pdg=np.array([13], np.int32),
        trackid=np.array([1], np.uint32),
        parent_trackid=np.array([1], np.uint32),
        process=["primary"],
        energy_init=np.array([5.0]),
        energy_deposit=np.zeros(1),
        momentum_mev=np.array([[300.0, 0.0, 0.0]]),
        start_cm=np.zeros((1, 3)),
        end_cm=np.zeros((1, 3)),
    )
    with pytest.raises(InputError, match="neither MeV nor GeV"):
        energy_scale_to_mev(Path("x.root"), [record], "auto")
    record.energy_init = np.array([316.1])
    assert energy_scale_to_mev(Path("x.root"), [record], "auto") == 1.0


def test_parent_indices_by_track_id():
    invalid = 0xFFFFFFFF
    trackid = np.array([5, 7, 9, 11, 13], np.uint32)
    parent = np.array([5, 5, 7, 99, invalid], np.uint32)
    np.testing.assert_array_equal(parent_indices(trackid, parent), [-1, 0, 1, -1, -1])


def test_particle_classes_inherit_from_ancestors():
    # muon, its Michel electron, the Michel's bremsstrahlung photon, an eIoni electron of the
    # Michel, a delta ray, and an orphaned eIoni electron.
    pdg = np.array([13, 11, 22, -11, 11, 11])
    process = process_codes(["primary", "Decay", "eBrem", "eIoni", "muIoni", "eIoni"])
    parent = np.array([-1, 0, 1, 1, 0, -1], np.int32)
    expected = [Label.MIP, Label.MICHEL, Label.SHOWER, Label.MICHEL, Label.DELTA, Label.SHOWER]
    np.testing.assert_array_equal(particle_classes(pdg, process, parent), expected)


def test_process_codes_unknown_is_other():
    codes = process_codes(["primary", "muIoni", "protonInelastic", "conv", "muPlusCaptureAtRest"])
    np.testing.assert_array_equal(
        codes,
        [
            Process.primary,
            Process.muIoni,
            Process.other,
            Process.conv,
            Process.muPlusCaptureAtRest,
        ],
    )


# --- voxel → particle ----------------------------------------------------------------------


def test_assign_by_clusters_takes_the_particle_with_most_energy():
    voxel_ids = np.array([10, 11, 12, 13], np.uint64)
    cluster_ids = [
        np.array([10, 11], np.uint64),
        np.array([11, 12], np.uint64),
        np.array([13], np.uint64),
    ]
    cluster_values = [np.array([1.0, 0.2]), np.array([0.5, 1.0]), np.array([2.0])]
    # Two particles: the third cluster (k >= n_particles) is ignored.
    out = assign_by_clusters(voxel_ids, cluster_ids, cluster_values, 2)
    np.testing.assert_array_equal(out, [0, 1, 1, -1])


def _table(start, end, cls):
    n = len(cls)
    return ParticleTable(
        pdg=np.full(n, 13, np.int32),
        parent=np.full(n, -1, np.int32),
        process=np.zeros(n, np.int8),
        cls=np.array(cls, np.int8),
        ke=np.zeros(n, np.float32),
        start=np.array(start, np.float32),
        end=np.array(end, np.float32),
        edep=np.zeros(n, np.float32),
    )


def test_assign_by_proximity_prefers_the_voxel_class():
    # Particle 0: MIP along x at y=z=0.5; particle 1: shower along x at y=10.5.
    particles = _table(
        [[0, 0.5, 0.5], [0, 10.5, 0.5]],
        [[20, 0.5, 0.5], [20, 10.5, 0.5]],
        [Label.MIP, Label.SHOWER],
    )
    coords = np.array([[3, 0, 0], [3, 10, 0], [3, 9, 0], [3, 1, 0]])
    labels = np.array([Label.MIP, Label.SHOWER, Label.MIP, Label.MICHEL])
    # The MIP voxel at y=9 is nearer the shower but takes the MIP particle; the Michel voxel,
    # whose class no particle has, takes the nearest one.
    np.testing.assert_array_equal(assign_by_proximity(coords, labels, particles), [0, 1, 0, 0])


# --- whole import on a 3D LArCV2-layout file ------------------------------------------------


def _sparse3d_types() -> dict:
    types = {
        "_producer": "string",
        "_run": np.uint64,
        "_subrun": np.uint64,
        "_event": np.uint64,
        "_voxel_v._id": "var * uint64",
        "_voxel_v._value": "var * float32",
    }
    for a in "xyz":
        types[f"_meta._{a}num"] = np.uint64
        types[f"_meta._{a}len"] = np.float64
        types[f"_meta._p1.{a}"] = np.float64
        types[f"_meta._p2.{a}"] = np.float64
    return types


def _write_sparse3d(file, name: str, producer: str, event_id, ids, values) -> None:
    n = len(ids)
    tree = file.mktree(name, _sparse3d_types())
    data = {
        "_producer": np.array([producer] * n, dtype=object),
        "_run": np.asarray(event_id)[:, 0].astype(np.uint64),
        "_subrun": np.asarray(event_id)[:, 1].astype(np.uint64),
        "_event": np.asarray(event_id)[:, 2].astype(np.uint64),
        "_voxel_v._id": ak.Array([np.asarray(i, np.uint64) for i in ids]),
        "_voxel_v._value": ak.Array([np.asarray(v, np.float32) for v in values]),
    }
    for k, a in enumerate("xyz"):
        data[f"_meta._{a}num"] = np.full(n, NUM, np.uint64)
        data[f"_meta._{a}len"] = np.full(n, VOXEL_CM)
        data[f"_meta._p1.{a}"] = np.full(n, ORIGIN_CM[k])
        data[f"_meta._p2.{a}"] = np.full(n, ORIGIN_CM[k] + NUM * VOXEL_CM)
    tree.extend(data)


def _event_voxels(entry: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Entry k: a track of 5 + k voxels along x (MIP), and one detached Michel voxel."""
    n = 5 + entry
    coords = np.zeros((n + 1, 3), np.int64)
    coords[:n, 0] = np.arange(n)
    coords[:n, 1] = 2
    coords[:n, 2] = entry
    coords[n] = [NUM - 1, NUM - 1, NUM - 1]
    energy = (np.arange(n + 1) + 1.0).astype(np.float32) / 10
    labels = np.full(n + 1, Label.MIP, np.float32)
    labels[n] = Label.MICHEL
    return coords, energy, labels


def _make_3d_file(tmp_path: Path, *, mutate=None) -> Path:
    """A copy of proton.root plus sparse3d energy and label trees (10 entries)."""
    path = tmp_path / "larcv3d.root"
    shutil.copyfile(TESTDATA / "proton.root", path)
    path.chmod(path.stat().st_mode | stat.S_IWUSR)
    with uproot.open(path) as file:
        event_id = np.stack(
            [
                file["particle_mctruth_tree"][
                    f"particle_mctruth_branch/larcv::EventBase/{k}"
                ].array(library="np")
                for k in ("_run", "_subrun", "_event")
            ],
            axis=1,
        )
    e_ids, e_vals, l_ids, l_vals = [], [], [], []
    for entry in range(len(event_id)):
        coords, energy, labels = _event_voxels(entry)
        ids = encode_voxel_ids(coords, (NUM, NUM, NUM))
        e_ids.append(ids)
        e_vals.append(energy)
        order = np.arange(len(ids))[::-1]  # the label tensor lists voxels in another order
        l_ids.append(ids[order])
        l_vals.append(labels[order])
    label_event_id = event_id.copy()
    if mutate is not None:
        mutate(e_ids, e_vals, l_ids, l_vals, label_event_id)
    with uproot.update(path) as file:
        _write_sparse3d(file, "sparse3d_data_tree", "data", event_id, e_ids, e_vals)
        _write_sparse3d(file, "sparse3d_fivetypes_tree", "fivetypes", label_event_id, l_ids, l_vals)
    return path


def test_import_of_a_3d_file(tmp_path):
    src = _make_3d_file(tmp_path)
    out = tmp_path / "events.root"
    n = import_larcv([src], out, ImportOptions(producers=MCTRUTH))
    assert n == 10
    assert file_problems(out) == []
    with EventFile(out) as events_file:
        assert events_file.meta.grid == NUM
        assert events_file.meta.voxel_mm == pytest.approx(3.0)
        events = list(events_file.iterate())
    with uproot.open(src) as file:
        _, records = read_particles(src, file["particle_mctruth_tree"])
    for entry, event in enumerate(events):
        assert event.event == entry
        coords, energy, labels = _event_voxels(entry)
        key = encode_voxel_ids(coords, (NUM,) * 3)
        order = np.argsort(key)  # the import lists voxels by increasing id
        np.testing.assert_array_equal(event.coords, coords[order])
        np.testing.assert_allclose(event.energy, energy[order], rtol=0)
        np.testing.assert_array_equal(event.label, labels[order].astype(np.int8))
        # The detached Michel voxel becomes shower; the track stays MIP.
        expected_relabel = labels[order].astype(np.int8)
        expected_relabel[expected_relabel == Label.MICHEL] = Label.SHOWER
        np.testing.assert_array_equal(event.relabel, expected_relabel)
        np.testing.assert_array_equal(event.part, 0)
        assert event.particles.pdg.tolist() == [2212]
        np.testing.assert_allclose(
            event.particles.start[0],
            (records[entry].start_cm[0] - ORIGIN_CM) / VOXEL_CM,
            rtol=1e-6,
        )


def test_import_command_line(tmp_path, capsys):
    src = _make_3d_file(tmp_path)
    out = tmp_path / "cli.root"
    status = main(
        [
            "import-larcv",
            str(src),
            str(src),
            "--out",
            str(out),
            "--particle-producer",
            "mctruth",
            "--grid",
            "32",
        ]
    )
    assert status == 0
    assert "20 events" in capsys.readouterr().out
    with EventFile(out) as f:
        assert f.meta.grid == 32
        assert [e.event for e in f.iterate()] == list(range(20))


def test_voxel_with_energy_but_no_label_is_refused(tmp_path):
    def drop_label(e_ids, e_vals, l_ids, l_vals, label_event_id):
        l_ids[3] = l_ids[3][1:]
        l_vals[3] = l_vals[3][1:]

    src = _make_3d_file(tmp_path, mutate=drop_label)
    with pytest.raises(InputError) as err:
        import_larcv([src], tmp_path / "out.root", ImportOptions(producers=MCTRUTH))
    assert err.value.event == 3
    assert err.value.field == "sparse3d_fivetypes_tree"
    assert str(src) in str(err.value)
    assert "missing from 'sparse3d_fivetypes_tree'" in str(err.value)
    assert not (tmp_path / "out.root").exists()


def test_label_without_energy_is_refused(tmp_path):
    def extra_label(e_ids, e_vals, l_ids, l_vals, label_event_id):
        l_ids[0] = np.append(l_ids[0], np.uint64(NUM**3 - 2))
        l_vals[0] = np.append(l_vals[0], np.float32(Label.MIP))

    src = _make_3d_file(tmp_path, mutate=extra_label)
    with pytest.raises(InputError, match="missing from 'sparse3d_data_tree'") as err:
        import_larcv([src], tmp_path / "out.root", ImportOptions(producers=MCTRUTH))
    assert err.value.event == 0


def test_misaligned_trees_are_refused(tmp_path):
    def shift(e_ids, e_vals, l_ids, l_vals, label_event_id):
        label_event_id[5, 2] += 100

    src = _make_3d_file(tmp_path, mutate=shift)
    with pytest.raises(InputError, match=r"\(run, subrun, event\)") as err:
        import_larcv([src], tmp_path / "out.root", ImportOptions(producers=MCTRUTH))
    assert err.value.event == 5


def test_pilarnet_labels_are_mapped_and_ghosts_dropped(tmp_path):
    def to_pilarnet(e_ids, e_vals, l_ids, l_vals, label_event_id):
        for k in range(len(l_vals)):
            # MIP (fivetypes 1) is "track" 1 in PILArNet; Michel 4 → PILArNet 2; the first
            # listed voxel (the last track voxel, order is reversed) becomes a ghost (5).
            v = np.where(l_vals[k] == Label.MICHEL, 2.0, 1.0).astype(np.float32)
            v[1] = 5.0
            l_vals[k] = v

    src = _make_3d_file(tmp_path, mutate=to_pilarnet)
    out = tmp_path / "pil.root"
    import_larcv([src], out, ImportOptions(producers=MCTRUTH, labels="pilarnet"))
    with EventFile(out) as f:
        events = list(f.iterate())
    for entry, event in enumerate(events):
        coords, _, labels = _event_voxels(entry)
        assert len(event) == len(coords) - 1
        assert not (event.coords == coords[-2]).all(axis=1).any()  # the ghost
        np.testing.assert_array_equal(np.sort(event.label), np.sort([*labels[:-2].tolist(), 4]))


def test_wrong_label_values_are_refused(tmp_path):
    def bad(e_ids, e_vals, l_ids, l_vals, label_event_id):
        l_vals[2] = l_vals[2].copy()
        l_vals[2][0] = 7.0

    src = _make_3d_file(tmp_path, mutate=bad)
    with pytest.raises(InputError, match=r"label 7\.0 is not an integer in 0\.\.4") as err:
        import_larcv([src], tmp_path / "out.root", ImportOptions(producers=MCTRUTH))
    assert err.value.event == 2


def test_missing_tree_is_named(tmp_path):
    src = _make_3d_file(tmp_path)
    with pytest.raises(InputError, match="no TTree 'particle_mcst_tree'"):
        import_larcv([src], tmp_path / "out.root")
