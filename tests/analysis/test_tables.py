"""Tables in CSV, Markdown, LaTeX and HTML (analysis.tables) and the Michel table command."""

from __future__ import annotations

import csv
import json
import math

import pytest

from analysis.michel import table as michel_table
from analysis.tables import write_table


def test_write_table_all_formats(tmp_path):
    rows = [
        {"variant": "regular", "purity": 98.81234, "n": 7105},
        {"variant": "with_w", "purity": math.nan, "n": 12},
    ]
    written = write_table(rows, ["variant", "purity", "n"], tmp_path / "sub" / "t", "Purity in %")
    assert [p.name for p in written] == ["t.csv", "t.md", "t.tex", "t.html"]
    with open(tmp_path / "sub" / "t.csv") as f:
        table = list(csv.DictReader(f))
    assert float(table[0]["purity"]) == pytest.approx(98.81234, abs=1e-9)
    assert table[0]["n"] == "7105" and table[1]["variant"] == "with_w"
    assert table[1]["purity"] == ""  # NaN is an empty cell
    md = (tmp_path / "sub" / "t.md").read_text().splitlines()
    assert md[0] == "Purity in %"
    assert md[2] == "| variant | purity | n |"
    assert md[4] == "| regular | 98.8 | 7105 |"
    assert md[5] == "| with_w |  | 12 |"
    tex = (tmp_path / "sub" / "t.tex").read_text()
    assert r"\caption{Purity in \%}" in tex
    assert r"regular & 98.8 & 7105 \\" in tex
    assert r"with\_w &  & 12 \\" in tex
    page = (tmp_path / "sub" / "t.html").read_text()
    assert "<caption>Purity in %</caption>" in page
    assert "<tr><td>regular</td><td>98.8</td><td>7105</td></tr>" in page
    assert "<tr><td>with_w</td><td></td><td>12</td></tr>" in page
    assert not list((tmp_path / "sub").glob(".*tmp*"))  # no temporary file left behind


def test_html_table_escapes_cells(tmp_path):
    write_table([{"a<": "<b>&"}], ["a<"], tmp_path / "t", "x < y", formats=("html",))
    page = (tmp_path / "t.html").read_text()
    assert "<td>&lt;b&gt;&amp;</td>" in page and "<th>a&lt;</th>" in page
    assert "<caption>x &lt; y</caption>" in page


def test_write_table_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match="unknown table formats"):
        write_table([], ["a"], tmp_path / "t", "c", formats=("xls",))


def _metrics(purity: float) -> dict:
    entry = {"value": purity, "lo": purity - 0.01, "hi": purity + 0.005}
    return {
        "sample": 100,
        "counts": {"candidates": 80, "true_clusters": 85},
        **{k: entry for k in michel_table.METRICS},
    }


def test_michel_table_command(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({**_metrics(0.95), "added": _metrics(0.97)}))
    (tmp_path / "t.json").write_text(json.dumps(_metrics(0.99)))
    from analysis.cli import main

    out = tmp_path / "tables" / "michel"
    status = main(
        [
            "michel-table",
            "--metrics",
            f"truth={tmp_path / 't.json'}",
            f"relabeled={tmp_path / 'a.json'}",
            "--out",
            str(out),
        ]
    )
    assert status == 0
    with open(out.with_suffix(".csv")) as f:
        rows = list(csv.DictReader(f))
    assert [r["variant"] for r in rows] == ["relabeled", "relabeled", "truth"]  # truth last
    assert [r["selection"] for r in rows] == ["paper", "added", "paper"]
    assert float(rows[1]["id_purity"]) == pytest.approx(97.0)
    rows.pop(1)
    assert float(rows[0]["id_purity"]) == pytest.approx(95.0)
    assert float(rows[0]["id_purity_lo"]) == pytest.approx(94.0)
    assert float(rows[1]["cluster_efficiency_voxels_hi"]) == pytest.approx(99.5)
    md = out.with_suffix(".md").read_text()
    assert "| relabeled | paper | 100 | 80 | 85 | 95.0 [94.0, 95.5] |" in md
    assert "| relabeled | added | 100 | 80 | 85 | 97.0 [96.0, 97.5] |" in md
    assert "| paper (ACAT 2019) |  | 7105 |  |  | 98.8 | 93.9 |  | 97.3 | 96.1 |  |  |" in md
    assert "added = paper's candidates; ≥ 10 voxels" in md  # the caption defines the selection
    assert r"95.0 [94.0, 95.5] &" in out.with_suffix(".tex").read_text()
    assert "93.9" in md and "96.1" in md and "97.3" in md
    # headers in words; the CSV keeps the column names
    header = md.splitlines()[2]
    assert header.startswith(
        "| Variant | Selection | Events | Candidates | True Michel clusters | ID purity [%]"
    )
    assert "_" not in header
    assert "paper (ACAT 2019)" not in out.with_suffix(".csv").read_text()


def test_michel_table_bad_input(tmp_path, capsys):
    from analysis.cli import main

    (tmp_path / "bad.json").write_text("{}")
    assert (
        main(
            [
                "michel-table",
                "--metrics",
                f"x={tmp_path / 'bad.json'}",
                "--out",
                str(tmp_path / "m"),
            ]
        )
        == 1
    )
    assert "not a Michel metrics file" in capsys.readouterr().err
