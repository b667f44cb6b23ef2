"""Atomic output and the clean-up of temporaries left by a killed writer."""

import pytest

from lartpc_seg.io.atomic import atomic_path, remove_stale_temporaries


def test_failed_write_leaves_nothing(tmp_path):
    out = tmp_path / "sub" / "file.root"
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


def test_stale_temporaries_are_removed_and_the_file_kept(tmp_path):
    final = tmp_path / "last.pt"
    final.write_text("complete")
    stranded = tmp_path / ".last.pt.abc123.tmp.pt"
    stranded.write_text("half")
    other = tmp_path / ".model.pt.abc123.tmp.pt"
    other.write_text("another file's temporary")
    assert remove_stale_temporaries(final) == [stranded]
    assert final.read_text() == "complete"
    assert other.exists()
    assert remove_stale_temporaries(tmp_path / "missing" / "x.pt") == []


def test_a_registered_input_is_never_replaced(tmp_path):
    """Whatever the spelling (a hard link here), the file of an input is refused as output."""
    from lartpc_seg.errors import InputError
    from lartpc_seg.io.paths import clear_inputs, register_inputs

    source = tmp_path / "events.root"
    source.write_text("data")
    alias = tmp_path / "alias.root"
    alias.hardlink_to(source)
    register_inputs([source])
    try:
        with pytest.raises(InputError, match="is the input"), atomic_path(alias) as tmp:
            tmp.write_text("predictions")
    finally:
        clear_inputs()
    assert source.read_text() == "data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.root", "events.root"]


def test_temporary_of_a_live_writer_is_kept(tmp_path):
    """Only temporaries of ended processes go: a concurrent writer's file is left alone."""
    import os
    import socket
    import subprocess
    import sys

    final = tmp_path / "x.root"
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    host = socket.gethostname()
    dead = tmp_path / f".x.root.{ended.stdout.strip()}@{host}.abcd1234.tmp.root"
    live = tmp_path / f".x.root.{os.getpid()}@{host}.abcd1234.tmp.root"
    remote = tmp_path / ".x.root.1@another-node.abcd1234.tmp.root"
    for p in (dead, live, remote):
        p.write_text("partial")
    assert remove_stale_temporaries(final) == [dead]
    assert live.exists() and remote.exists()


def test_atomic_output_has_the_umask_mode(tmp_path):
    import os

    previous = os.umask(0o027)
    try:
        with atomic_path(tmp_path / "f.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(previous)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o640
