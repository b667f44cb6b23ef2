"""Configs: the paper study plans without running, the schema names a misspelt key, and a
variant's thread count reaches its training command."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def test_paper_config_dry_runs(tmp_path: Path, run_snakemake):
    proc = run_snakemake(
        tmp_path, "-n", "--cores", "2", "--configfile", str(REPO / "workflow/configs/paper.yaml")
    )
    assert proc.returncode == 0, proc.stdout
    for rule in ("download", "import_larcv", "train", "infer", "accuracy", "michel_table"):
        assert f"rule {rule}:" in proc.stdout, rule
    assert "rule simulate:" not in proc.stdout


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("trian:\n  iterations: 8\n", "trian"),
        ("model:\n  filtres: 8\n", "filtres"),
        ("analysis:\n  michel:\n    calibrat: true\n", "calibrat"),
    ],
    ids=["top-level", "model", "nested"],
)
def test_misspelt_key_is_refused_by_name(tmp_path: Path, run_snakemake, text: str, key: str):
    config = tmp_path / "typo.yaml"
    config.write_text(text)
    proc = run_snakemake(tmp_path, "-n", "--cores", "1", "--configfile", str(config))
    assert proc.returncode != 0
    assert f"'{key}' was unexpected" in proc.stdout, proc.stdout[-3000:]
    assert "rule simulate:" not in proc.stdout


@pytest.mark.parametrize(("cores", "weighted_threads"), [(2, 2), (1, 1)])
def test_variant_threads_reach_the_training_command(
    tmp_path: Path, run_snakemake, cores: int, weighted_threads: int
):
    """The default study's weighted training asks for two threads, lowered to --cores."""
    proc = run_snakemake(
        tmp_path, "-n", "-p", "--cores", str(cores), "--configfile", str(REPO / "config.yaml")
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    for variant, threads in (("regular", 1), ("relabeled", 1), ("weighted", weighted_threads)):
        workdir = f"results/train/{variant}/seed-20190314"
        assert f"--threads {threads} --workdir {workdir}" in proc.stdout, variant


def test_class_weight_power_reaches_the_training_command(tmp_path: Path, run_snakemake):
    """A softened variant passes its power; the paper's weighting keeps its command line."""
    layer = tmp_path / "softened.yaml"
    layer.write_text(
        "train:\n  variants:\n"
        "    weighted: {labels: relabel, class_weights: true}\n"
        "    softened: {labels: relabel, class_weights: true, class_weight_power: 0.5}\n"
    )
    proc = run_snakemake(
        tmp_path, "-n", "-p", "--cores", "2", "--configfile", str(REPO / "config.yaml"), str(layer)
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    commands = [line for line in proc.stdout.splitlines() if " train --train " in line]
    softened = [c for c in commands if "results/train/softened/" in c]
    weighted = [c for c in commands if "results/train/weighted/" in c]
    assert len(softened) == len(weighted) == 1, commands
    assert "--labels relabel --class-weights --class-weight-power 0.5 --model" in softened[0]
    assert "--labels relabel --class-weights --model" in weighted[0]


def test_long_config_layers_on_the_default_study(tmp_path: Path, run_snakemake):
    """long.yaml keeps the default study's network and changes only events and training."""
    proc = run_snakemake(
        tmp_path,
        "-n",
        "-p",
        "--cores",
        "2",
        "--configfile",
        str(REPO / "config.yaml"),
        str(REPO / "workflow/configs/long.yaml"),
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "data/train/31.root" in proc.stdout and "data/train/32.root" not in proc.stdout
    assert '"iterations": 15000' in proc.stdout
    assert '"filters": 16, "depth": 5, "reps": 1' in proc.stdout
