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
