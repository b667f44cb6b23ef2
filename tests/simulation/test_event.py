"""Whole simulated events: reproducibility, the contract of event files, default composition."""

import json

import numpy as np
import pytest

from lartpc_seg.cli import main
from lartpc_seg.io.events import EventFile, file_problems
from lartpc_seg.labels import Label, relabel
from lartpc_seg.simulation import SimulationConfig, simulate_event, simulate_file
from lartpc_seg.simulation.stats import class_summary


def _arrays(event):
    p = event.particles
    return [
        event.coords,
        event.energy,
        event.label,
        event.relabel,
        event.part,
        *p.columns().values(),
    ]


def test_same_seed_is_byte_identical_and_other_seed_differs():
    config = SimulationConfig(grid=128)
    a, b, c = (
        simulate_event(config, 3, 5),
        simulate_event(config, 3, 5),
        simulate_event(config, 4, 5),
    )
    for x, y in zip(_arrays(a), _arrays(b), strict=True):
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes()
    assert a.energy.tobytes() != c.energy.tobytes()


def test_event_does_not_depend_on_sharding(tmp_path):
    config = SimulationConfig(grid=96)
    simulate_file(tmp_path / "all.root", 4, 9, config)
    simulate_file(tmp_path / "tail.root", 2, 9, config, first_event=2)
    with EventFile(tmp_path / "all.root") as f_all, EventFile(tmp_path / "tail.root") as f_tail:
        whole, tail = f_all.read(), f_tail.read()
    assert [e.event for e in tail] == [2, 3]
    for x, y in zip(whole[2:], tail, strict=True):
        for u, v in zip(_arrays(x), _arrays(y), strict=True):
            np.testing.assert_array_equal(u, v)


@pytest.mark.slow
def test_default_simulation(tmp_path):
    config = SimulationConfig()
    path = tmp_path / "default.root"
    simulate_file(path, 150, 2024, config)
    assert file_problems(path) == []
    with EventFile(path) as f:
        events = f.read()
        meta = f.meta
    assert meta.grid == config.grid and meta.seed == 2024
    assert meta.source.startswith("lartpc_seg.simulation")
    assert SimulationConfig.from_dict(__import__("yaml").safe_load(meta.config)) == config
    for ev in events:
        assert len(ev) > 0 and (ev.energy > 0).all()
        assert ((ev.coords >= 0) & (ev.coords < config.grid)).all()
        assert len(np.unique(ev.coords, axis=0)) == len(ev)
        np.testing.assert_array_equal(ev.relabel, relabel(ev.coords, ev.label))
    s = class_summary(events)
    print(
        f"{s['voxels_per_event']:.0f} voxels/event; "
        + ", ".join(f"{c.name} {100 * s['fraction_' + c.name]:.2f} %" for c in Label)
        + f"; relabeled Michel fraction {100 * s['relabeled_michel_fraction']:.1f} %"
    )
    assert 0.01 <= s["fraction_MICHEL"] <= 0.03
    assert 0.15 <= s["relabeled_michel_fraction"] <= 0.60
    assert 1000 <= s["voxels_per_event"] <= 6000


def test_simulate_command(tmp_path, capsys):
    out = tmp_path / "cli.root"
    params = json.dumps({"cosmic_tracks": [1, 2], "grid": 256})
    rc = main(
        [
            "simulate",
            "--events",
            "3",
            "--seed",
            "1",
            "--grid",
            "64",
            "--out",
            str(out),
            "--params",
            params,
        ]
    )
    assert rc == 0
    text = capsys.readouterr().out
    assert "events/s" in text and "relabeled Michel fraction" in text
    with EventFile(out) as f:
        assert len(f) == 3 and f.meta.grid == 64


def test_simulate_command_rejects_unknown_param(tmp_path, capsys):
    rc = main(
        [
            "simulate",
            "--events",
            "1",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "x.root"),
            "--params",
            '{"nope": 1}',
        ]
    )
    assert rc == 1
    assert "nope" in capsys.readouterr().err
    assert not (tmp_path / "x.root").exists()


def test_benchmark_command(tmp_path):
    out = tmp_path / "bench.json"
    rc = main(
        [
            "benchmark",
            "simulate",
            "--events",
            "3",
            "--grid",
            "64",
            "--repeats",
            "2",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    result = json.loads(out.read_text())
    print(f"grid 64: {result['events_per_s_median']:.1f} events/s")
    assert result["events_per_s_median"] > 0 and result["grid"] == 64
