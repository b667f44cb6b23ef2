"""Event display: a valid PNG of the expected size; bad event selections name file and event."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from lartpc_seg.cli import main
from lartpc_seg.display import display, marker_areas
from lartpc_seg.errors import InputError
from lartpc_seg.io.events import Event, FileMeta, ParticleTable, write_events
from lartpc_seg.labels import Label

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _tiny_file(path: Path) -> Path:
    coords = np.array([[1, 1, 1], [2, 1, 1], [3, 1, 1], [3, 2, 1], [8, 8, 8]], np.int32)
    label = np.array([Label.MIP, Label.MIP, Label.MIP, Label.MICHEL, Label.DELTA], np.int8)
    relabel = label.copy()
    relabel[4] = Label.SHOWER
    particles = ParticleTable(
        pdg=np.array([13], np.int32),
        parent=np.array([-1], np.int32),
        process=np.zeros(1, np.int8),
        cls=np.array([Label.MIP], np.int8),
        ke=np.ones(1, np.float32),
        start=np.zeros((1, 3), np.float32),
        end=np.ones((1, 3), np.float32),
        edep=np.ones(1, np.float32),
    )
    events = [
        Event(
            event=40 + k,
            coords=coords,
            energy=np.linspace(0.1, 2.0, 5).astype(np.float32),
            label=label,
            relabel=relabel,
            part=np.zeros(5, np.int32),
            particles=particles,
        )
        for k in range(2)
    ]
    write_events(path, events, FileMeta(grid=12))
    return path


def test_png_of_expected_size(tmp_path):
    src = _tiny_file(tmp_path / "tiny.root")
    out = display(src, tmp_path / "plots" / "event.png", entry=1)
    assert _png_size(out) == (1200, 600)  # 12 x 6 inches at 100 dpi
    assert out.stat().st_size > 10_000  # the panels are drawn, not blank
    assert [p.name for p in out.parent.iterdir()] == ["event.png"]  # no temporary left


def test_command_line_by_number_with_grid_lines(tmp_path, capsys):
    src = _tiny_file(tmp_path / "tiny.root")
    out = tmp_path / "n41.png"
    args = ["display", str(src), "--number", "41", "--out", str(out), "--grid-lines", "--dpi", "50"]
    assert main(args) == 0
    assert _png_size(out) == (600, 300)


@pytest.mark.parametrize("entry", [2, -1])
def test_entry_out_of_range(tmp_path, entry):
    src = _tiny_file(tmp_path / "tiny.root")
    with pytest.raises(InputError, match="out of range: the file holds 2 events") as err:
        display(src, tmp_path / "x.png", entry=entry)
    assert err.value.path == str(src)
    assert err.value.event == entry
    assert not (tmp_path / "x.png").exists()


def test_unknown_event_number_on_the_command_line(tmp_path, capsys):
    src = _tiny_file(tmp_path / "tiny.root")
    assert main(["display", str(src), "--number", "7", "--out", str(tmp_path / "x.png")]) == 1
    assert f"{src}, event 7, field 'event': no event with this number" in capsys.readouterr().err


def test_marker_areas_scale_with_energy():
    np.testing.assert_allclose(marker_areas(np.array([0.0, 1.0, 2.0])), [2.0, 16.0, 30.0])
    assert marker_areas(np.zeros(0)).shape == (0,)
