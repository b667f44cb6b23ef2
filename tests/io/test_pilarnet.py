"""PILArNet-M import: files written here with h5py in the published layout, read back by the
importer and by an independent, loop-by-loop reading of the published rules, compared array by
array; class mapping, 2019 labels, voxelisation, streaming, sharding and bad files.

Layout (PoLAr-MAE DATASET.md and the PILArNet-M dataset card): variable-length 1D datasets,
one entry per event; ``point`` rows of 8 (x, y, z, voxel value, energy deposit, time, electrons,
dx), ``cluster`` rows of 5 (size, fragment, group, interaction, semantic type) or, in files with
``cluster_extra`` (rows of 5: mass, momentum, vertex x, y, z), rows of 6 (the same + particle ID).
Points are stored cluster by cluster.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from lartpc_seg.cli import main
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import EventFile
from lartpc_seg.io.pilarnet import layout
from lartpc_seg.io.pilarnet.importer import ImportOptions, Progress, import_pilarnet
from lartpc_seg.io.pilarnet.layout import PilarnetFile
from lartpc_seg.io.pilarnet.semantics import LabelOptions
from lartpc_seg.io.pilarnet.voxelize import Grid
from lartpc_seg.labels import Label, Process

MUON_MASS, PROTON_MASS, PION_MASS, ELECTRON_MASS = 105.658, 938.272, 139.570, 0.511

# --------------------------------------------------------------------------------------------
# Writing files in the published layout
# --------------------------------------------------------------------------------------------


def _line(start, step, n):
    return [tuple(np.add(start, np.multiply(step, i))) for i in range(n)]


def make_event(k: int, *, with_pid: bool = True) -> dict:
    """One event holding a cluster of every semantic type, with overlaps and group structure.

    Clusters (fragment, group, semantic, PID): low-energy scatters (-1, -1, 4, -1) first, as in
    the published files; a muon track (0, 0, 1, μ); its Michel electron (1, 1, 2, e) and a
    Compton fragment of the Michel's photon (2, 1, 0, γ); a δ ray (3, 3, 3, e) starting in a muon
    voxel and a fragment of its photon (4, 3, 0, γ); a proton (5, 5, 1, p); a pion (6, 6, 1, π);
    an electron shower (7, 7, 0, e) with a photon fragment (8, 7, 0, γ). Event k is shifted by k
    voxels and event 1 has no Michel.
    """
    o = np.array([10 + 3 * k, 20, 30])

    def off(dx: int, dy: int, dz: int) -> np.ndarray:
        return o + np.array([dx, dy, dz])

    clusters = [
        # (points, energy per point, fragment, group, semantic, pid, mass)
        (_line(off(50, 50, 50), (7, 0, 0), 4), 0.05, -1, -1, 4, -1, -1.0),
        ([*_line(o, (1, 0, 0), 20), tuple(off(5, 0, 0))], 0.6, 0, 0, 1, 2, MUON_MASS),
        (_line(off(20, 1, 0), (1, 0, 0), 6), 0.3, 1, 1, 2, 1, ELECTRON_MASS),
        ([*_line(off(30, 5, 0), (1, 0, 0), 2), tuple(off(31, 6, 0))], 0.2, 2, 1, 0, 0, 0.0),
        (_line(off(10, 0, 0), (0, 1, 0), 4), 0.25, 3, 3, 3, 1, ELECTRON_MASS),
        (_line(off(10, 8, 0), (1, 0, 0), 2), 0.15, 4, 3, 0, 0, 0.0),
        (_line(off(0, 10, 0), (0, 0, 1), 8), 2.0, 5, 5, 1, 4, PROTON_MASS),
        (_line(off(40, -10, 0), (0, 1, 0), 10), 0.5, 6, 6, 1, 3, PION_MASS),
        (_line(off(60, 10, 10), (1, 1, 0), 5), 0.4, 7, 7, 0, 1, ELECTRON_MASS),
        (_line(off(70, 20, 10), (1, 0, 1), 3), 0.35, 8, 7, 0, 0, 0.0),
    ]
    if k == 1:
        clusters = [c for c in clusters if c[4] != 2 and c[3] != 1]
    points, rows, extra = [], [], []
    for i, (pts, e, frag, group, sem, pid, mass) in enumerate(clusters):
        for j, p in enumerate(pts):
            value = e * (1.0 + 0.01 * j)
            points.append([*p, value, value * 1.1, 1.5 + 0.01 * j, 100.0 * value, 0.3])
        inter = -1 if sem == 4 else 0
        row = [len(pts), frag, group, inter, sem] + ([pid] if with_pid else [])
        rows.append(row)
        momentum = -1.0 if mass < 0 else 0.05 * (i + 1)
        extra.append([mass, momentum, -900.0 + i, -400.0, 12.5])
    return {
        "point": np.array(points, np.float32).ravel(),
        "cluster": np.array(rows, np.int64).ravel(),
        "cluster_extra": np.array(extra, np.float32).ravel() if with_pid else None,
    }


def write_file(path: Path, events: list[dict], *, cluster_dtype=np.int64) -> Path:
    """Write events as the published files are: one variable-length 1D dataset per quantity."""
    with h5py.File(path, "w") as f:
        n = len(events)
        f.create_dataset("point", (n,), dtype=h5py.vlen_dtype(np.float32))
        f.create_dataset("cluster", (n,), dtype=h5py.vlen_dtype(cluster_dtype))
        if events and events[0]["cluster_extra"] is not None:
            f.create_dataset("cluster_extra", (n,), dtype=h5py.vlen_dtype(np.float32))
        for i, ev in enumerate(events):
            for name in f:
                f[name][i] = np.asarray(ev[name], f[name].dtype.metadata["vlen"])
    return path


@pytest.fixture
def v2_file(tmp_path: Path) -> Path:
    return write_file(tmp_path / "generic_v2_5_v2.h5", [make_event(k) for k in range(5)])


@pytest.fixture
def v1_file(tmp_path: Path) -> Path:
    return write_file(
        tmp_path / "generic_v2_3_v1.h5", [make_event(k, with_pid=False) for k in range(3)]
    )


# --------------------------------------------------------------------------------------------
# The independent reading: the published rules, one row and one point at a time
# --------------------------------------------------------------------------------------------


def independent_read(path: Path) -> list[dict]:
    """Read every event with per-entry h5py access and explicit Python loops."""
    out = []
    with h5py.File(path, "r") as f:
        has_extra = "cluster_extra" in f
        width = 6 if has_extra else 5
        for i in range(f["point"].shape[0]):
            flat_p = [float(v) for v in f["point"][i]]
            flat_c = [int(v) for v in f["cluster"][i]]
            points = [flat_p[j : j + 8] for j in range(0, len(flat_p), 8)]
            clusters = [flat_c[j : j + width] for j in range(0, len(flat_c), width)]
            extra = None
            if has_extra:
                flat_e = [float(v) for v in f["cluster_extra"][i]]
                extra = [flat_e[j : j + 5] for j in range(0, len(flat_e), 5)]
            owner = []
            for row_index, row in enumerate(clusters):
                owner += [row_index] * row[0]
            out.append({"points": points, "clusters": clusters, "extra": extra, "owner": owner})
    return out


def independent_convert(ev: dict, low_energy: str = "shower", labels: str = "2019") -> dict:
    """The conversion rules of docs/open-data.md, re-implemented with dicts and loops."""
    track_class = {4: Label.HIP, 2: Label.MIP, 3: Label.MIP}
    direct = {0: Label.SHOWER, 2: Label.MICHEL, 3: Label.DELTA, 4: Label.SHOWER}
    rows = ev["clusters"]
    keep_rows = [r for r in range(len(rows)) if not (low_energy == "drop" and rows[r][4] == 4)]
    new_index = {r: n for n, r in enumerate(keep_rows)}
    own = {}
    for r, row in enumerate(rows):
        own[r] = track_class[row[5]] if row[4] == 1 else direct[row[4]]
    deposit = dict(own)
    if labels == "2019":
        michel_groups = {row[2] for row in rows if row[4] == 2 and row[1] == row[2] >= 0}
        delta_groups = {row[2] for row in rows if row[4] == 3 and row[1] == row[2] >= 0}
        for r, row in enumerate(rows):
            if row[2] in delta_groups and row[4] in (0, 4):
                deposit[r] = Label.DELTA
            if row[2] in michel_groups and row[4] in (0, 3, 4):
                deposit[r] = Label.MICHEL
    voxels: dict[tuple, dict] = {}
    edep = {r: 0.0 for r in keep_rows}
    for point, r in zip(ev["points"], ev["owner"], strict=True):
        if r not in new_index or point[3] <= 0:
            continue
        key = (math.floor(point[0]), math.floor(point[1]), math.floor(point[2]))
        v = voxels.setdefault(key, {"e": 0.0, "label": -1, "by_cluster": {}})
        v["e"] += point[3]
        v["label"] = max(v["label"], int(deposit[r]))
        v["by_cluster"][new_index[r]] = v["by_cluster"].get(new_index[r], 0.0) + point[3]
        edep[r] += point[3]
    coords = sorted(voxels)
    parts = []
    for key in coords:
        by = voxels[key]["by_cluster"]
        best = max(by.values())
        parts.append(min(c for c, e in by.items() if e == best))
    pdg_of = {-1: 0, 0: 22, 1: 11, 2: 13, 3: 211, 4: 2212}
    parent = []
    for r in keep_rows:
        leader = [q for q in range(len(rows)) if rows[q][1] == rows[r][2] and rows[r][2] >= 0]
        p = leader[0] if leader and leader[0] != r else -1
        parent.append(new_index.get(p, -1) if p >= 0 else -1)
    ke = []
    for r in keep_rows:
        mass, mom = ev["extra"][r][0], ev["extra"][r][1] * 1000.0
        ke.append(math.sqrt(mom**2 + mass**2) - mass if mass >= 0 and mom >= 0 else math.nan)
    return {
        "coords": np.array(coords, np.int64).reshape(-1, 3),
        "energy": np.array([voxels[c]["e"] for c in coords]),
        "label": np.array([voxels[c]["label"] for c in coords]),
        "part": np.array(parts),
        "pdg": np.array([pdg_of[rows[r][5]] for r in keep_rows]),
        "parent": np.array(parent),
        "process": np.array(
            [Process.Decay if rows[r][4] == 2 else Process.other for r in keep_rows]
        ),
        "cls": np.array([own[r] for r in keep_rows]),
        "ke": np.array(ke),
        "edep": np.array([edep[r] for r in keep_rows]),
    }


# --------------------------------------------------------------------------------------------
# Reshape and conversion against the independent reading
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["v2", "v1"])
def test_reshape_matches_the_independent_reading(which, v2_file, v1_file):
    path = v2_file if which == "v2" else v1_file
    expected = independent_read(path)
    with PilarnetFile(path) as h5:
        got = list(h5.iterate(step=2))
        assert h5.num_events == len(expected)
    assert [ev.entry for ev in got] == list(range(len(expected)))
    for ev, ref in zip(got, expected, strict=True):
        np.testing.assert_array_equal(ev.points, np.array(ref["points"]))
        np.testing.assert_array_equal(ev.clusters, np.array(ref["clusters"]))
        np.testing.assert_array_equal(ev.point_cluster(), np.array(ref["owner"]))
        if ref["extra"] is None:
            assert ev.extra is None
        else:
            np.testing.assert_array_equal(ev.extra, np.array(ref["extra"]))
    assert got[0].clusters.shape == ((10, 6) if which == "v2" else (10, 5))
    assert got[0].points.shape == (66, 8)


@pytest.mark.parametrize(
    ("low_energy", "labels"), [("shower", "2019"), ("drop", "2019"), ("shower", "fragment")]
)
def test_conversion_matches_the_independent_rules(tmp_path, v2_file, low_energy, labels):
    out = tmp_path / "events.root"
    options = ImportOptions(labels=LabelOptions(low_energy=low_energy, labels=labels))
    files, counts = import_pilarnet(v2_file, out, options, progress=Progress("t", 5, every=1e9))
    assert files == [out]
    expected = [independent_convert(ev, low_energy, labels) for ev in independent_read(v2_file)]
    with EventFile(out) as f:
        events = f.read()
        assert f.meta.grid == 768 and f.meta.voxel_mm == pytest.approx(3.0)
    assert [e.event for e in events] == [0, 1, 2, 3, 4]
    for ev, ref in zip(events, expected, strict=True):
        np.testing.assert_array_equal(ev.coords, ref["coords"])
        np.testing.assert_allclose(ev.energy, ref["energy"], rtol=1e-6)
        np.testing.assert_array_equal(ev.label, ref["label"])
        np.testing.assert_array_equal(ev.part, ref["part"])
        p = ev.particles
        np.testing.assert_array_equal(p.pdg, ref["pdg"])
        np.testing.assert_array_equal(p.parent, ref["parent"])
        np.testing.assert_array_equal(p.process, ref["process"])
        np.testing.assert_array_equal(p.cls, ref["cls"])
        np.testing.assert_allclose(p.ke, ref["ke"], rtol=1e-5)
        np.testing.assert_allclose(p.edep, ref["edep"], rtol=1e-5)
        assert np.isnan(p.start).all() and np.isnan(p.end).all()
    dropped = 4 * 5 if low_energy == "drop" else 0
    assert counts.low_energy_dropped == dropped
    assert counts.points == 66 * 4 + 57


def test_labels_of_the_hand_built_event(tmp_path, v2_file):
    """The mapping on known voxels: track PIDs, Michel and δ groups, priority, relabel."""
    out = tmp_path / "e.root"
    import_pilarnet(v2_file, out, progress=Progress("t", 5, every=1e9))
    with EventFile(out) as f:
        ev = f.read(0, 1)[0]
    o = np.array([10, 20, 30])

    def at(offset):
        hit = np.flatnonzero((ev.coords == o + offset).all(axis=1))
        assert hit.size == 1, offset
        return hit[0]

    assert ev.label[at((3, 0, 0))] == Label.MIP  # muon
    assert ev.label[at((0, 10, 3))] == Label.HIP  # proton
    assert ev.label[at((40, -5, 0))] == Label.MIP  # pion
    assert ev.label[at((22, 1, 0))] == Label.MICHEL
    # The Michel photon's Compton fragment: Michel in 2019 labels, detached so shower after relabel
    assert ev.label[at((30, 5, 0))] == Label.MICHEL
    assert ev.relabel[at((30, 5, 0))] == Label.SHOWER
    assert ev.relabel[at((22, 1, 0))] == Label.MICHEL
    # δ ray's photon fragment takes the δ label; the δ ray's first voxel is shared with the muon:
    # labelled δ (priority) but owned by the muon (more energy)
    assert ev.label[at((10, 8, 0))] == Label.DELTA
    shared = at((10, 0, 0))
    assert ev.label[shared] == Label.DELTA
    assert ev.particles.pdg[ev.part[shared]] == 13
    # a voxel holding two muon points sums them: 0.6 * 1.05 + 0.6 * 1.20
    assert ev.energy[at((5, 0, 0))] == pytest.approx(0.6 * 1.05 + 0.6 * 1.20, rel=1e-6)
    # low-energy scatters: shower
    assert ev.label[at((57, 50, 50))] == Label.SHOWER
    # Michel particle: process Decay, its photon fragment's parent is the Michel electron
    michel = np.flatnonzero(ev.particles.cls == Label.MICHEL)
    assert len(michel) == 1 and ev.particles.process[michel[0]] == Process.Decay
    assert ev.particles.parent[ev.part[at((30, 5, 0))]] == michel[0]
    # kinetic energy of the muon from cluster_extra: p = 0.1 GeV/c (row 1)
    muon = ev.part[at((3, 0, 0))]
    assert ev.particles.ke[muon] == pytest.approx(math.hypot(100.0, MUON_MASS) - MUON_MASS, 1e-5)


def test_michel_not_leading_its_group_changes_nothing(tmp_path):
    """A Michel cluster in a group led by another cluster (here the muon's) does not make that
    group's shower fragments Michel."""
    ev = make_event(0)
    clusters = ev["cluster"].reshape(-1, 6)
    clusters[2, 2] = 0  # Michel electron (fragment 1) put in the muon's group 0
    clusters[3, 2] = 0  # and its photon's fragment too
    path = write_file(tmp_path / "g.h5", [ev])
    out = tmp_path / "e.root"
    import_pilarnet(path, out, progress=Progress("t", 1, every=1e9))
    with EventFile(out) as f:
        got = f.read()[0]
    photon = np.flatnonzero((got.coords == (40, 25, 30)).all(axis=1))[0]
    michel = np.flatnonzero((got.coords == (32, 21, 30)).all(axis=1))[0]
    assert got.label[photon] == Label.SHOWER and got.label[michel] == Label.MICHEL
    assert (
        got.particles.parent[got.part[michel]] == got.part[(got.coords == (13, 20, 30)).all(1)][0]
    )


def test_dominant_voxel_label_takes_the_most_energetic_cluster(tmp_path, v2_file):
    out = tmp_path / "e.root"
    options = ImportOptions(voxel_label="dominant")
    import_pilarnet(v2_file, out, options, progress=Progress("t", 5, every=1e9))
    with EventFile(out) as f:
        ev = f.read(0, 1)[0]
    shared = np.flatnonzero((ev.coords == (20, 20, 30)).all(axis=1))[0]
    assert ev.label[shared] == Label.MIP


def test_grid_mapping_coarser_voxels_and_origin(tmp_path, v2_file):
    """6 mm voxels from 3 mm units halve the indices; the origin shifts them."""
    out = tmp_path / "e.root"
    grid = Grid(size=128, voxel_mm=6.0, unit_mm=3.0, origin=(4.0, 0.0, 0.0))
    import_pilarnet(v2_file, out, ImportOptions(grid=grid), progress=Progress("t", 5, every=1e9))
    ref = independent_read(v2_file)[0]
    keys = {tuple((np.floor((np.array(p[:3]) - (4, 0, 0)) / 2)).astype(int)) for p in ref["points"]}
    with EventFile(out) as f:
        ev = f.read(0, 1)[0]
        assert f.meta.voxel_mm == pytest.approx(6.0) and f.meta.grid == 128
    assert {tuple(c) for c in ev.coords} == keys
    total = sum(p[3] for p in ref["points"])
    assert ev.energy.sum() == pytest.approx(total, rel=1e-5)


def test_energy_column_and_threshold(tmp_path, v2_file):
    out = tmp_path / "e.root"
    options = ImportOptions(energy_column="deposit", energy_threshold=0.1)
    _, counts = import_pilarnet(v2_file, out, options, progress=Progress("t", 5, every=1e9))
    ref = independent_read(v2_file)[0]
    kept = [p[4] for p in ref["points"] if p[4] > 0.1]
    with EventFile(out) as f:
        ev = f.read(0, 1)[0]
    assert ev.energy.sum() == pytest.approx(sum(kept), rel=1e-5)
    assert counts.below_threshold == 5 * 4  # the low-energy scatters' 0.055 MeV points


def test_v1_files_need_an_explicit_track_choice(tmp_path, v1_file, capsys):
    out = tmp_path / "e.root"
    assert main(["import-pilarnet", str(v1_file), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert str(v1_file) in err and "event 0" in err and "field 'cluster'" in err
    assert "--tracks MIP" in err
    assert main(["import-pilarnet", str(v1_file), "--out", str(out), "--tracks", "MIP"]) == 0
    with EventFile(out) as f:
        events = f.read()
    assert all(Label.HIP not in e.label for e in events)
    assert all(np.isnan(e.particles.ke).all() and (e.particles.pdg == 0).all() for e in events)
    assert main(["validate", str(out)]) == 0


def test_track_with_another_particle_id(tmp_path, capsys):
    ev = make_event(0)
    clusters = ev["cluster"].reshape(-1, 6)
    clusters[6, 5] = 1  # the proton track labelled electron
    path = write_file(tmp_path / "odd.h5", [make_event(1), ev])
    out = tmp_path / "e.root"
    assert main(["import-pilarnet", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert "event 1" in err and "cluster row 6" in err and "particle ID 1" in err
    assert "--other-tracks" in err and len(err.splitlines()) == 1
    assert main(["import-pilarnet", str(path), "--out", str(out), "--other-tracks", "HIP"]) == 0


# --------------------------------------------------------------------------------------------
# Command line, sharding, validation, streaming, progress
# --------------------------------------------------------------------------------------------


def test_directory_output_in_shards_passes_validate(tmp_path, v2_file, capsys):
    out = tmp_path / "events"
    args = ["import-pilarnet", str(v2_file), "--out", f"{out}/", "--shard-events", "2"]
    assert main(args) == 0
    summary = capsys.readouterr().out
    assert "5 events in 3 file(s)" in summary
    shards = [out / f"{i}.root" for i in range(3)]
    numbers = []
    for shard in shards:
        with EventFile(shard) as f:
            numbers += [e.event for e in f.read()]
            assert "generic_v2_5_v2.h5" in f.meta.source
    assert numbers == [0, 1, 2, 3, 4]
    assert main(["validate", *map(str, shards)]) == 0


def test_first_and_events_select_entries(tmp_path, v2_file):
    out = tmp_path / "e.root"
    options = ImportOptions(first=2, events=2)
    import_pilarnet(v2_file, out, options, progress=Progress("t", 2, every=1e9))
    with EventFile(out) as f:
        assert [e.event for e in f.read()] == [2, 3]
    with pytest.raises(InputError, match=r"entries 4\.\.7 asked for, the file holds 5 events"):
        import_pilarnet(v2_file, out, ImportOptions(first=4, events=3))


def test_reads_are_chunked(tmp_path, v2_file, monkeypatch):
    """No dataset read asks for more than ``chunk`` entries, and the output does not depend on
    the chunk size."""
    sizes = []
    real_read = PilarnetFile.read

    def spy(self, start, stop):
        sizes.append(min(stop, self.num_events) - start)
        return real_read(self, start, stop)

    monkeypatch.setattr(PilarnetFile, "read", spy)
    outs = []
    for chunk in (2, 64):
        out = tmp_path / f"c{chunk}.root"
        import_pilarnet(v2_file, out, ImportOptions(chunk=chunk), progress=Progress("t", 5))
        with EventFile(out) as f:
            outs.append(f.read())
    assert max(sizes[:3]) == 2 and sizes[:3] == [2, 2, 1]
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a.coords, b.coords)
        np.testing.assert_array_equal(a.energy, b.energy)


def test_progress_lines_give_rate_and_eta():
    now = [0.0]
    stream = io.StringIO()
    progress = Progress("f.h5", 1000, stream=stream, every=10.0, clock=lambda: now[0])
    now[0] = 5.0
    progress.update(100)
    assert stream.getvalue() == ""
    now[0] = 20.0
    progress.update(400)
    assert stream.getvalue().strip() == ("f.h5: 400/1000 events (40.0 %), 20.0 events/s, ETA 30 s")
    now[0] = 200.0
    progress.update(1000, force=True)
    assert stream.getvalue().strip().splitlines()[-1].endswith("ETA 0 s")


def test_sha256_checked_and_verify_only(tmp_path, v2_file, capsys):
    digest = hashlib.sha256(v2_file.read_bytes()).hexdigest()
    out = tmp_path / "e.root"
    wrong = "0" * 64
    assert main(["import-pilarnet", str(v2_file), "--out", str(out), "--sha256", wrong]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and digest in err and wrong in err
    assert not out.exists()
    summary = tmp_path / "check.json"
    args = ["import-pilarnet", str(v2_file), "--sha256", digest, "--verify-only"]
    assert main([*args, "--out", str(summary)]) == 0
    assert '"events": 5' in summary.read_text() and '"cluster_extra": true' in summary.read_text()


# --------------------------------------------------------------------------------------------
# Bad files: one line naming the file, the event and the dataset
# --------------------------------------------------------------------------------------------


def _broken(tmp_path: Path, what: str) -> Path:
    events = [make_event(k) for k in range(3)]
    bad = events[2]
    match what:
        case "point length":
            bad["point"] = bad["point"][:-3]
        case "cluster sizes":
            c = bad["cluster"].reshape(-1, 6)
            c[1, 0] += 1
        case "extra rows":
            bad["cluster_extra"] = bad["cluster_extra"][:-5]
        case "semantic type":
            c = bad["cluster"].reshape(-1, 6)
            c[3, 4] = 5
        case "negative size":
            c = bad["cluster"].reshape(-1, 6)
            c[1, 0], c[2, 0] = -c[1, 0], c[2, 0] + 2 * c[1, 0]
        case "negative energy":
            p = bad["point"].reshape(-1, 8)
            p[7, 3] = -0.1
        case "outside grid":
            p = bad["point"].reshape(-1, 8)
            p[9, 0] = 800.0
    return write_file(tmp_path / "bad.h5", events)


@pytest.mark.parametrize(
    ("what", "field", "message"),
    [
        ("point length", "point", "is not a multiple of 8"),
        ("cluster sizes", "cluster", "cluster sizes add up to"),
        ("extra rows", "cluster", "60 values do not make 9 rows of 6"),
        ("semantic type", "cluster", "cluster row 3 has semantic type 5"),
        ("negative size", "cluster", "cluster row 1 has a negative size"),
        ("negative energy", "point", "negative or NaN energy"),
        ("outside grid", "point", "outside the 768^3 grid"),
    ],
)
def test_bad_event_refused_with_one_line(tmp_path, capsys, what, field, message):
    path = _broken(tmp_path, what)
    out = tmp_path / "e.root"
    assert main(["import-pilarnet", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {path}, event 2, field '{field}': "), err
    assert message in err
    assert not out.exists()


def test_missing_dataset_and_unequal_lengths(tmp_path, capsys):
    path = tmp_path / "nocluster.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("point", (1,), dtype=h5py.vlen_dtype(np.float32))
    assert main(["import-pilarnet", str(path), "--out", str(tmp_path / "e.root")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"error: {path}, field 'cluster': no dataset 'cluster' (found: point)"

    path = write_file(tmp_path / "short.h5", [make_event(0), make_event(1)])
    with h5py.File(path, "a") as f:
        del f["cluster_extra"]
        f.create_dataset("cluster_extra", (1,), dtype=h5py.vlen_dtype(np.float32))
    assert main(["import-pilarnet", str(path), "--out", str(tmp_path / "e.root")]) == 1
    err = capsys.readouterr().err.strip()
    assert "datasets hold different numbers of events" in err and "'cluster_extra' 1" in err

    path = tmp_path / "text.h5"
    path.write_text("not hdf5")
    assert main(["import-pilarnet", str(path), "--out", str(tmp_path / "e.root")]) == 1
    assert "cannot open as HDF5" in capsys.readouterr().err


def test_float_cluster_values_must_be_integers(tmp_path, capsys):
    events = [make_event(0)]
    events[0]["cluster"] = events[0]["cluster"].astype(np.float32)
    path = write_file(tmp_path / "f.h5", events, cluster_dtype=np.float32)
    out = tmp_path / "e.root"
    assert main(["import-pilarnet", str(path), "--out", str(out)]) == 0
    events[0]["cluster"][3] = 0.5
    path = write_file(tmp_path / "g.h5", events, cluster_dtype=np.float32)
    assert main(["import-pilarnet", str(path), "--out", str(out)]) == 1
    assert "cluster values must be integers" in capsys.readouterr().err


def test_layout_constants_match_the_published_columns():
    assert layout.POINT_COLUMNS == 8 and layout.EXTRA_COLUMNS == 5
    assert [c.name for c in layout.ClusterColumn] == [
        "SIZE", "FRAGMENT", "GROUP", "INTERACTION", "SEMANTIC", "PID",
    ]  # fmt: skip
    assert [s.name for s in layout.Semantic] == [
        "SHOWER", "TRACK", "MICHEL", "DELTA", "LOW_ENERGY",
    ]  # fmt: skip


# --------------------------------------------------------------------------------------------
# The pilarnet-m study config
# --------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
PILARNET_CONFIG = REPO / "workflow" / "configs" / "pilarnet-m.yaml"


def _dry_run(workdir: Path, config: Path) -> subprocess.CompletedProcess:
    snakemake = Path(sys.executable).with_name("snakemake")
    cmd = [str(snakemake), "-n", "-p", "--cores", "1", "--configfile", str(config)]
    return subprocess.run(
        [*cmd, "--directory", str(workdir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )


def _job_counts(output: str) -> dict[str, int]:
    table = output.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        m = re.fullmatch(r"(\w+)\s+(\d+)", line.strip())
        if not m:
            break
        counts[m[1]] = int(m[2])
    return counts


@pytest.mark.workflow
@pytest.mark.slow
def test_shipped_config_refuses_its_placeholders(tmp_path):
    proc = _dry_run(tmp_path, PILARNET_CONFIG)
    assert proc.returncode != 0
    errors = [line for line in proc.stdout.splitlines() if "error" in line.lower()]
    assert errors == [
        "error: dataset.pilarnet.files[0].sha256 is still the placeholder: fill in each file's "
        "path and SHA-256 (sha256sum FILE.h5) as docs/open-data.md says"
    ], proc.stdout
    assert "rule " not in proc.stdout


@pytest.mark.workflow
@pytest.mark.slow
def test_filled_config_plans_verify_import_and_the_study(tmp_path):
    """The shipped config with real files (5, 2 and 3 events) and shards of 2 events."""
    config = yaml.safe_load(PILARNET_CONFIG.read_text())
    files = []
    for split, n in (("train", 5), ("val", 2), ("test", 3)):
        path = write_file(tmp_path / f"{split}.h5", [make_event(k) for k in range(n)])
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        files.append({"path": str(path), "sha256": digest, "split": split, "events": n})
    config["dataset"]["pilarnet"]["files"] = files
    config["dataset"]["shard_events"] = 2
    filled = tmp_path / "filled.yaml"
    filled.write_text(yaml.safe_dump(config))
    proc = _dry_run(tmp_path / "work", filled)
    assert proc.returncode == 0, proc.stdout[-3000:]
    counts = _job_counts(proc.stdout)
    assert counts["pilarnet_verify"] == 3
    assert counts["import_pilarnet"] == 3 + 1 + 2
    assert counts["validate_split"] == 3 and counts["train"] == 3
    assert "simulate" not in counts and "download" not in counts
    assert "--first 4 --events 1 --grid 768 --low-energy shower --tracks pid" in proc.stdout

    files[1]["path"] = str(tmp_path / "absent.h5")
    filled.write_text(yaml.safe_dump(config))
    proc = _dry_run(tmp_path / "work", filled)
    assert proc.returncode != 0
    assert f"error: dataset.pilarnet.files[1].path: no file {tmp_path / 'absent.h5'}" in proc.stdout


# --------------------------------------------------------------------------------------------
# The published sample rows
# --------------------------------------------------------------------------------------------

#: The first values of four events as the dataset viewer of DeepLearnPhysics/PILArNet-M-mini
#: shows them (truncated there; only whole rows are kept): clusters, then cluster_extra rows.
SAMPLE_CLUSTERS = {
    "A": [307, -1, -1, -1, 4, -1, 11, 3, 3, 0, 1, 4, 159, 4, 4, 0, 0, 0, 146, 5, 5, 0, 0, 0,
          17, 6, 5, 0, 0, 0, 142, 19, 19, 1, 1, 2],
    "B": [180, -1, -1, -1, 4, -1, 950, 0, 0, 0, 1, 2, 126, 3, 3, 0, 0, 0, 120, 4, 4, 0, 0, 0,
          16, 12, 3, 0, 0, 0, 18, 17, 17, 0, 3, 1],
    "C": [2155, -1, -1, -1, 4, -1, 2333, 0, 0, 0, 0, 1, 136, 2, 2, 0, 1, 3, 31, 4, 4, 0, 2, 1,
          220, 7, 7, 0, 0, 0, 227, 8, 8, 0, 0, 0],
    "D": [313, -1, -1, -1, 4, -1, 272, 0, 0, 0, 1, 2, 68, 1, 1, 0, 1, 3, 237, 2, 2, 0, 1, 3,
          33, 3, 3, 0, 1, 4, 151, 15, 15, 0, 0, 0],
}  # fmt: skip
#: (mass, momentum) of each event's second cluster_extra row.
SAMPLE_EXTRA_ROW1 = {
    "A": (938.27197265625, 0.3112218379974365),
    "B": (105.65799713134766, 0.9048342704772949),
    "C": (0.5119979977607727, 1.7018018960952759),
    "D": (105.65799713134766, 1.3000768423080444),
}
#: Event A's first point row.
SAMPLE_POINT = [189.0, 312.0, 379.0, 0.020386237651109695, 0.020386237651109695,
                2.3185646533966064, 231.0, 0.001060526818]  # fmt: skip
PID_MASS = {4: PROTON_MASS, 2: MUON_MASS, 1: ELECTRON_MASS}


@pytest.mark.parametrize("name", sorted(SAMPLE_CLUSTERS))
def test_the_published_sample_rows_read_as_six_columns(tmp_path, name):
    """Six columns make sense of the sample rows (the low-energy row first with IDs -1 and no
    particle ID; each second row's particle ID matches its cluster_extra mass); five do not."""
    flat = np.array(SAMPLE_CLUSTERS[name])
    rows = flat.reshape(-1, 6)
    assert tuple(rows[0, 1:]) == (-1, -1, -1, 4, -1) and (rows[:, 0] > 0).all()
    mass, momentum = SAMPLE_EXTRA_ROW1[name]
    assert mass == pytest.approx(PID_MASS[int(rows[1, 5])], rel=5e-3)  # electrons: 0.512
    assert (flat.reshape(-1, 6)[1:, 4] <= 3).all()
    with pytest.raises(InputError, match="cluster row 1 has a negative size -1"):
        layout.reshape_event(tmp_path, 0, np.zeros(8), flat[:30], None)  # 6 rows of 5

    # As a whole event: the published clusters, cluster_extra rows 0-1 as published and the
    # rest with the masses of their particle IDs, every point a copy of event A's first point.
    n_points = int(rows[:, 0].sum())
    points = np.tile(np.array(SAMPLE_POINT, np.float32), n_points)
    extra = [[-1.0] * 5, [mass, momentum, -900.0, -400.0, 0.0]]
    extra += [[PID_MASS.get(int(r[5]), 0.0), 0.1, 0.0, 0.0, 0.0] for r in rows[2:]]
    ev = {"point": points, "cluster": flat, "cluster_extra": np.array(extra, np.float32).ravel()}
    out = tmp_path / "e.root"
    import_pilarnet(write_file(tmp_path / "s.h5", [ev]), out, progress=Progress("t", 1, every=1e9))
    with EventFile(out) as f:
        got = f.read()[0]
    assert got.coords.tolist() == [[189, 312, 379]]
    assert got.energy[0] == pytest.approx(n_points * SAMPLE_POINT[3], rel=1e-5)
    p = got.particles
    expected_ke = math.sqrt((1000 * momentum) ** 2 + mass**2) - mass
    assert p.ke[1] == pytest.approx(expected_ke, rel=1e-5)
    assert p.pdg[1] == {4: 2212, 2: 13, 1: 11}[int(rows[1, 5])]
    if name == "A":  # a proton track of 11 points: 50 MeV, which stops in ~2 cm of argon
        assert p.cls[1] == Label.HIP and p.ke[1] == pytest.approx(50.0, abs=0.5)
