"""The README's generated results block is filled from the run's tables."""

from pathlib import Path

import pytest

from analysis.cli import main
from analysis.readme_results import replace_block
from lartpc_seg.errors import InputError

ACCURACY = """class,regular_regular,regular_regular_lo,regular_regular_hi,\
relabeled_relabeled,relabeled_relabeled_lo,relabeled_relabeled_hi
HIP,97.5,97.0,98.0,97.9,97.1,98.5
MIP,99.0,98.8,99.2,99.1,98.9,99.3
EM shower,90.0,88.0,92.0,93.0,91.0,95.0
Delta rays,80.0,78.0,82.0,85.0,83.0,87.0
Michel electrons,61.2,58.0,64.0,92.4,90.0,94.0
"""
MICHEL = """variant,sample,id_purity,id_purity_lo,id_purity_hi,\
id_efficiency,id_efficiency_lo,id_efficiency_hi
relabeled,400,97.0,95.0,98.5,91.0,88.0,93.5
truth,400,100.0,99.0,100.0,96.4,93.0,98.0
"""
DATASET = """split,n_events,n_voxels,label_michel_pct,michel_to_shower_pct
train,100,300000,2.0,30.0
test,50,150000,2.2,31.5
"""


def _results(tmp_path: Path) -> Path:
    tables = tmp_path / "results" / "tables"
    tables.mkdir(parents=True)
    (tables / "accuracy.csv").write_text(ACCURACY)
    (tables / "michel.csv").write_text(MICHEL)
    (tables / "dataset.csv").write_text(DATASET)
    return tmp_path / "results"


def test_results_block_is_written_from_the_tables(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# title\n<!-- results:start -->\nold\n<!-- results:end -->\ntail\n")
    assert (
        main(["readme-results", "--results", str(_results(tmp_path)), "--readme", str(readme)]) == 0
    )
    text = readme.read_text()
    assert "old" not in text and text.endswith("tail\n")
    assert "| Michel electrons | 61.2 [58.0, 64.0] (56.6) | 92.4 [90.0, 94.0] (94.7) |" in text
    assert "| relabeled | 400 | 97.0 [95.0, 98.5] | 91.0 [88.0, 93.5] |" in text
    assert "| paper (ACAT 2019) | 7105 | 98.8 | 93.9 |" in text
    assert "150 simulated events (3000 voxels per event" in text
    assert "31.5 % of them (test split)" in text


def test_missing_markers_are_an_input_error(tmp_path):
    with pytest.raises(InputError, match="markers"):
        replace_block("no markers here", "results", "body", path=tmp_path / "README.md")


def test_missing_tables_exit_1_naming_the_file(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:start -->\n<!-- results:end -->\n")
    code = main(["readme-results", "--results", str(tmp_path / "nothing"), "--readme", str(readme)])
    assert code == 1
    assert "dataset.csv" in capsys.readouterr().err


def test_figure_is_an_output_and_replaces_the_previous_copy(tmp_path):
    """`make readme` copies the spectrum over the one a previous `make readme` left."""
    results = _results(tmp_path)
    (results / "tables" / "accuracy.json").write_text('{"training_seed": 7}')
    spectrum = results / "michel" / "relabeled" / "seed-7" / "michel_energy_spectra.png"
    spectrum.parent.mkdir(parents=True)
    spectrum.write_bytes(b"new spectrum")
    figure = tmp_path / "docs" / "figures" / "michel_energy_spectra.png"
    figure.parent.mkdir(parents=True)
    figure.write_bytes(b"old spectrum")
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:start -->\nold\n<!-- results:end -->\n")
    argv = ["readme-results", "--results", str(results), "--readme", str(readme)]
    assert main([*argv, "--figure", str(figure)]) == 0
    assert figure.read_bytes() == b"new spectrum"


def test_michel_rows_name_their_selection(tmp_path):
    from analysis.readme_results import michel_block

    path = tmp_path / "michel.csv"
    path.write_text(
        "variant,selection,sample,id_purity,id_purity_lo,id_purity_hi\n"
        "relabeled,paper,400,94.2,91.7,96.2\nrelabeled,added,400,98.0,96.2,99.1\n"
    )
    text = michel_block(path)
    assert "| variant | selection | events |" in text
    assert "| relabeled | added | 400 | 98.0 [96.2, 99.1] |" in text
    assert "| paper (ACAT 2019) | paper | 7105 | 98.8 |" in text
