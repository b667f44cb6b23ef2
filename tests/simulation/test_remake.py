"""``simulate --like``: a simulated file carries everything that remakes its events."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from lartpc_seg.cli import main
from lartpc_seg.io.events import EventFile, FileMeta, write_events
from lartpc_seg.simulation import SimulationConfig, simulate_event, simulate_file
from lartpc_seg.simulation.event import (
    REVISION_FIELD,
    SIMULATION_REVISION,
    config_from_yaml,
    config_yaml,
)


def _columns(event) -> list[np.ndarray]:
    return [
        np.array([event.event]),
        event.coords,
        event.energy,
        event.label,
        event.relabel,
        event.part,
        *event.particles.columns().values(),
    ]


def _assert_same_events(a: Path, b: Path) -> None:
    with EventFile(a) as fa, EventFile(b) as fb:
        ea, eb, meta_a, meta_b = fa.read(), fb.read(), fa.meta, fb.meta
    assert len(ea) == len(eb) > 0
    assert (meta_a.config, meta_a.seed, meta_a.grid) == (meta_b.config, meta_b.seed, meta_b.grid)
    for x, y in zip(ea, eb, strict=True):
        for u, v in zip(_columns(x), _columns(y), strict=True):
            assert u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes()


def test_yaml_keeps_order_and_types():
    config = SimulationConfig(
        grid=64,
        vertex_species={"pi0": 0.25, "proton": 3.0, "muon": 1.0},
        muon_ke=[0.1 + 0.2, 1.0 / 3.0],
        cosmic_tracks=[2, 5],
    )
    text = config_yaml(config)
    loaded = yaml.safe_load(text)
    assert list(loaded) == list(config.to_dict())
    assert list(loaded["vertex_species"]) == ["pi0", "proton", "muon"]
    for key, value in config.to_dict().items():
        assert type(loaded[key]) is type(value), key
        assert loaded[key] == value, key
    assert config_from_yaml(text) == config
    assert list(config_from_yaml(text).vertex_species) == ["pi0", "proton", "muon"]


def test_species_order_changes_the_events():
    """Why the order must survive: the species are drawn by their position in the mapping."""
    a = SimulationConfig(grid=64, vertex_species={"muon": 1.0, "proton": 2.0})
    b = SimulationConfig(grid=64, vertex_species={"proton": 2.0, "muon": 1.0})
    pdgs = [{tuple(simulate_event(c, 11, k).particles.pdg[:4]) for k in range(6)} for c in (a, b)]
    assert pdgs[0] != pdgs[1]


def test_like_remakes_a_small_file(tmp_path):
    config = SimulationConfig(
        grid=64,
        vertex_species={"proton": 2.0, "pion": 1.0, "muon": 1.0},
        stopping_muons=[1, 1],
    )
    simulate_file(tmp_path / "a.root", 3, 77, config, first_event=5)
    assert (
        main(["simulate", "--like", str(tmp_path / "a.root"), "--out", str(tmp_path / "b.root")])
        == 0
    )
    _assert_same_events(tmp_path / "a.root", tmp_path / "b.root")
    with EventFile(tmp_path / "b.root") as f:
        assert [e.event for e in f.read()] == [5, 6, 7]


@pytest.mark.slow
def test_like_remakes_the_default_study(tmp_path, default_study_config):
    config = default_study_config
    assert "vertex_species" in yaml.safe_load(config_yaml(config))
    simulate_file(tmp_path / "a.root", 2, 20190314, config, first_event=198)
    assert (
        main(["simulate", "--like", str(tmp_path / "a.root"), "--out", str(tmp_path / "b.root")])
        == 0
    )
    _assert_same_events(tmp_path / "a.root", tmp_path / "b.root")


def _file_with_meta(path: Path, config: SimulationConfig, extra: dict[str, str], text: str) -> None:
    meta = FileMeta(grid=config.grid, seed=3, config=text, extra=extra)
    write_events(path, [simulate_event(config, 3, 0)], meta)


def test_old_files_are_refused_with_the_field_named(tmp_path, capsys):
    config = SimulationConfig(grid=32)
    sorted_yaml = yaml.safe_dump(config.to_dict(), sort_keys=True)
    _file_with_meta(tmp_path / "old.root", config, {}, sorted_yaml)
    _file_with_meta(tmp_path / "other.root", config, {REVISION_FIELD: "1"}, config_yaml(config))
    for name, words in (("old", "cannot be remade"), ("other", "revision 1")):
        out = str(tmp_path / f"{name}.new.root")
        assert main(["simulate", "--like", str(tmp_path / f"{name}.root"), "--out", out]) == 1
        err = capsys.readouterr().err
        assert f"{name}.root" in err and f"meta.{REVISION_FIELD}" in err and words in err
        assert not Path(out).exists()
    assert SIMULATION_REVISION != "1"


def test_like_excludes_other_options(tmp_path, capsys):
    args = ["simulate", "--like", "x.root", "--out", str(tmp_path / "y.root"), "--seed", "4"]
    assert main(args) == 1
    assert "--seed" in capsys.readouterr().err
