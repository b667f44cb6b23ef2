"""The smoke study end to end: every output exists and parses, reruns do only what they must."""

from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path

import pytest
import uproot
import yaml

from lartpc_seg.io.predictions import PredictionFile

SMOKE = Path(__file__).resolve().parents[2] / "workflow" / "configs" / "smoke.yaml"

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PARQUET_MAGIC = b"PAR1"

#: TTrees each kind of ROOT output must hold (docs/event-format.md), by the directory it is in, and
#: those that must have entries (a six-iteration model may find no Michel candidate at all, but
#: the true Michel clusters of the test events are always there).
ROOT_TREES = {
    "data": ({"events", "meta"}, {"events"}),
    "predictions": ({"predictions"}, {"predictions"}),
    "michel": ({"michel", "michel_true"}, {"michel_true"}),
}

#: Leading columns of each CSV, by file name (the analysis writes these; see analysis/).
CSV_HEADERS = {
    "dataset.csv": ["split", "n_events", "n_voxels"],
    "accuracy.csv": ["class"],
    "michel.csv": ["variant", "sample", "candidates", "true_clusters"],
    "log.csv": ["iteration", "phase", "loss"],
}


def target_files(workdir: Path) -> list[Path]:
    """Every file the workflow made: outputs, logs and benchmarks, not Snakemake's own state."""
    return sorted(
        p
        for p in workdir.rglob("*")
        if p.is_file() and ".snakemake" not in p.parts and p.suffix != ".log"
    )


def root_kind(path: Path) -> str:
    """data/SPLIT/N.root, results/predictions/V/seed-S/N.root, results/michel/V/seed-S/* or
    results/michel/truth/*: the folder under the working directory's top level that says which."""
    parts = path.parts
    if "results" in parts:
        return parts[parts.index("results") + 1]
    return "data"


def check_root(path: Path) -> None:
    kind = root_kind(path)
    with uproot.open(path) as f:
        trees = {key.split(";")[0] for key in f.keys()}
        required, filled = ROOT_TREES[kind]
        assert required <= trees, f"{path}: no tree {required - trees} among {trees}"
        for name in filled:
            assert f[name].num_entries > 0, f"{path}: tree {name} is empty"


def check_csv(path: Path) -> None:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) >= 2, f"{path}: header only"
    name = "log.csv" if path.name.endswith("log.csv") else path.name
    expected = CSV_HEADERS.get(name)
    if expected is not None:
        assert rows[0][: len(expected)] == expected, f"{path}: header {rows[0]}"
    assert all(len(r) == len(rows[0]) for r in rows), f"{path}: ragged rows"


def check_file(path: Path) -> None:
    """Open ``path`` with the reader its extension calls for; fail with the file's name."""
    data = path.read_bytes()
    assert data, f"{path} is empty"
    match path.suffix:
        case ".root":
            check_root(path)
        case ".csv":
            check_csv(path)
        case ".png":
            assert data.startswith(PNG_MAGIC), f"{path} is not a PNG"
        case ".pdf":
            assert data.startswith(b"%PDF-"), f"{path} is not a PDF"
        case ".json":
            json.loads(data)
        case ".parquet":
            assert data[:4] == PARQUET_MAGIC and data[-4:] == PARQUET_MAGIC, f"{path}: not parquet"
        case ".pt":
            assert zipfile.is_zipfile(path), f"{path} is not a torch zip checkpoint"
        case ".tsv":
            assert data.decode().splitlines()[0].startswith("s\t"), f"{path}: not a benchmark"
        case ".md" | ".tex" | ".txt" | ".html":
            data.decode("utf-8")
        case _:
            pytest.fail(f"unexpected output {path}")


def job_counts(dry_run_output: str) -> dict[str, int]:
    """The ``Job stats`` table of a dry run, as rule → number of jobs."""
    table = dry_run_output.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        m = re.fullmatch(r"(\w+)\s+(\d+)", line.strip())
        if not m:
            break
        counts[m[1]] = int(m[2])
    return counts


def test_every_output_exists_and_parses(smoke_run, run_snakemake):
    workdir = smoke_run.workdir
    summary = run_snakemake(workdir, "--summary", "--cores", "1")
    assert summary.returncode == 0, summary.stdout
    planned = [
        line.split("\t")[0]
        for line in summary.stdout.splitlines()[1:]
        if "\t" in line and not line.startswith("output_file")
    ]
    assert len(planned) > 30, summary.stdout
    missing = [p for p in planned if not (workdir / p).exists()]
    assert not missing, f"outputs of the DAG not made: {missing}"
    files = target_files(workdir)
    for path in files:
        check_file(path)
    made = {p.relative_to(workdir).as_posix() for p in files}
    for required in (
        "data/test/0.root",
        "results/predictions/weighted/seed-7/0.root",
        "results/michel/relabeled/seed-7/michel.root",
        "results/michel/truth/michel.root",
        "results/tables/seed_gap.csv",
        "results/tables/accuracy.csv",
        "results/tables/michel.csv",
        "results/plots/training_curves.png",
        "results/report.html",
    ):
        assert required in made


def test_predictions_average_the_configured_symmetries(smoke_run):
    """smoke.yaml asks for the 8 reflections; every predictions file records it, and the
    accuracy table's caption in the report says so."""
    files = sorted((smoke_run.workdir / "results" / "predictions").glob("*/seed-7/*.root"))
    assert len(files) == 3 * len(list((smoke_run.workdir / "data" / "test").glob("*.root")))
    for path in files:
        with PredictionFile(path) as predictions:
            assert predictions.meta.extra["symmetries"] == "8", path
    report = (smoke_run.workdir / "results" / "report.html").read_text()
    assert "(class probabilities averaged over 8 symmetries of the cube)" in report


def test_rerun_does_nothing(smoke_run, run_snakemake):
    proc = run_snakemake(smoke_run.workdir, "-n", "--cores", "1")
    assert proc.returncode == 0, proc.stdout
    assert "Nothing to be done" in proc.stdout, proc.stdout


def test_training_change_reruns_training_and_downstream_only(
    smoke_run, run_snakemake, tmp_path: Path
):
    config = yaml.safe_load(SMOKE.read_text())
    config["train"]["iterations"] += 2
    changed = tmp_path / "smoke_longer.yaml"
    changed.write_text(yaml.safe_dump(config))
    proc = run_snakemake(smoke_run.workdir, "-n", "--cores", "1", "--configfile", str(changed))
    assert proc.returncode == 0, proc.stdout
    counts = job_counts(proc.stdout)
    n_test_shards = len(list((smoke_run.workdir / "data" / "test").glob("*.root")))
    assert counts.get("train") == 3
    assert counts.get("infer") == 3 * n_test_shards
    for downstream in ("accuracy", "training_curves", "michel_table", "training_log"):
        assert downstream in counts, counts
    assert counts.get("michel") == 3, "the truth variant does not depend on training"
    for upstream in ("simulate", "validate_split", "dataset_summary", "event_display"):
        assert upstream not in counts, counts
