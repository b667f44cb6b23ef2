"""Training seeds (train.seeds): the config checks, the shared seed's reuse, and a two-seed run.

A study with more seeds layered on a finished one trains only the new seeds: the shared seed's
trainings, predictions and Michel outputs keep their paths and their commands.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
import yaml

from lartpc_seg.config_check import ConfigError, check_workflow_config, load_config_file

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
SMOKE = REPO / "workflow" / "configs" / "smoke.yaml"
SEEDS = REPO / "workflow" / "configs" / "seeds.yaml"

#: Ceiling on the second seed's run: its CPU time is about the smoke study's (2.5 min), its
#: wall time 27 min on a 2-core machine under a load of 12.
TWO_SEED_TIMEOUT_S = 2400

#: The rules that run once per (variant, training seed).
PER_SEED_RULES = ("train", "infer", "michel", "training_log")
#: How their commands start.
PER_SEED_COMMANDS = (
    "python -m lartpc_seg train ",
    "python -m lartpc_seg infer ",
    "python -m analysis michel ",
    "cp results/train/",
)


def _checked(*layers: Path | dict) -> dict:
    """The configuration of ``config.yaml`` and ``layers`` (files or dicts written to files),
    merged as Snakemake merges them, after the project's checks."""
    files = [REPO / "config.yaml", *layers]
    config: dict = {}

    def merge(into: dict, layer: dict) -> None:
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    for path in files:
        merge(config, load_config_file(path))
    check_workflow_config(config, files, None, SCHEMA)
    return config


def _layer(tmp_path: Path, seeds: object, name: str = "layer.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"train": {"seeds": seeds}}))
    return path


def test_default_seeds_are_the_top_level_seed():
    assert _checked()["train"]["seeds"] == [20190314]
    assert _checked(SMOKE)["train"]["seeds"] == [7]


def test_seeds_yaml_keeps_the_default_seed_first():
    """seeds.yaml adds seeds to config.yaml's study: its first seed is the default one."""
    assert load_config_file(SEEDS) == {"train": {"seeds": [20190314, 20190315, 20190316]}}
    config = _checked(SEEDS)
    assert config["train"]["seeds"][0] == config["seed"]
    assert config["train"]["iterations"] == _checked()["train"]["iterations"]


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        ([1, 2, 1], r"train\.seeds: seed 1 is listed more than once in \[1, 2, 1\]"),
        ([], r"train\.seeds: \[\] should be non-empty"),
        ([3, -1], r"train\.seeds\.1: -1 is less than the minimum of 0"),
        ([3, "4"], r"train\.seeds\.1: '4' is not of type 'integer'"),
        (5, r"train\.seeds: 5 is not of type 'array'"),
    ],
    ids=["duplicate", "empty", "negative", "text", "not-a-list"],
)
def test_bad_seeds_are_refused_naming_the_layer(tmp_path, seeds, message):
    layer = _layer(tmp_path, seeds)
    with pytest.raises(ConfigError) as err:
        _checked(layer)
    assert str(err.value).startswith(f"{layer}: train.seeds")
    assert re.search(message, str(err.value)), str(err.value)
    assert "\n" not in str(err.value)


def _dry_run(run_snakemake, workdir: Path, *configs: Path) -> str:
    # one --configfile with every layer: a second --configfile option replaces the first
    proc = run_snakemake(workdir, "-n", "-p", "--cores", "1", "--configfile", *map(str, configs))
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc.stdout


@pytest.mark.workflow
@pytest.mark.slow
def test_duplicate_seeds_stop_snakemake_in_one_line(tmp_path, run_snakemake):
    layer = _layer(tmp_path, [7, 8, 7], "seeds.yaml")
    proc = run_snakemake(
        tmp_path, "--cores", "1", "--configfile", str(layer), "--", "data/val/0.root"
    )
    assert proc.returncode != 0
    errors = [line for line in proc.stdout.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {layer}: train.seeds: seed 7 is listed more than once in [7, 8, 7]: each seed "
        "names one training of every variant, so the seeds must be distinct"
    ], proc.stdout
    assert "Traceback" not in proc.stdout
    assert not (tmp_path / "data").exists()


def _jobs(plan: str, rule: str) -> list[str]:
    """The ``output:`` lines of a dry run's jobs of ``rule``."""
    blocks = re.split(r"\n(?=(?:local)?rule \w+:)", plan)
    return [
        m.group(1)
        for block in blocks
        if re.match(rf"(?:local)?rule {rule}:", block)
        for m in [re.search(r"output: (.*)", block)]
        if m
    ]


def _commands(plan: str, seed: int) -> list[str]:
    """The shell commands (``-p``) of a dry run that name training seed ``seed``'s folders."""
    commands = [line.strip().removeprefix("Shell command: ") for line in plan.splitlines()]
    return sorted(c for c in commands if f"seed-{seed}" in c and c.startswith(PER_SEED_COMMANDS))


@pytest.mark.workflow
@pytest.mark.slow
def test_seeds_yaml_plans_the_default_seed_with_the_default_commands(tmp_path, run_snakemake):
    """In an empty directory, config.yaml and config.yaml + seeds.yaml plan the default seed's
    jobs with the same paths and the same commands (what Snakemake compares to rerun a job)."""
    default = _dry_run(run_snakemake, tmp_path, REPO / "config.yaml")
    seeds = _dry_run(run_snakemake, tmp_path, REPO / "config.yaml", SEEDS)
    shared = _commands(default, 20190314)
    assert any("--workdir results/train/relabeled/seed-20190314" in c for c in shared)
    assert [c for c in _commands(seeds, 20190314) if c in shared] == shared
    for rule in PER_SEED_RULES:
        assert len(_jobs(seeds, rule)) == 3 * len(_jobs(default, rule)) - (
            2 if rule == "michel" else 0  # the truth run is not trained: one in both plans
        ), rule


@pytest.fixture(scope="module")
def two_seed_run(smoke_run, run_snakemake, tmp_path_factory) -> tuple[Path, str, str]:
    """A copy of the finished smoke study, then its dry run and its run with a second seed."""
    workdir = tmp_path_factory.mktemp("two-seeds") / "run"
    shutil.copytree(smoke_run.workdir, workdir, symlinks=True)
    layer = _layer(workdir.parent, [7, 8], "two_seeds.yaml")
    args = ("--configfile", str(SMOKE), str(layer))
    plan = run_snakemake(workdir, "-n", "--cores", "1", *args)
    assert plan.returncode == 0, plan.stdout[-3000:]
    run = run_snakemake(workdir, "--cores", "2", *args, timeout=TWO_SEED_TIMEOUT_S)
    assert run.returncode == 0, run.stdout[-6000:]
    return workdir, plan.stdout, layer


@pytest.mark.workflow
@pytest.mark.slow
def test_a_second_seed_trains_only_the_new_seed(two_seed_run):
    _, plan, _ = two_seed_run
    for rule in PER_SEED_RULES:
        outputs = _jobs(plan, rule)
        assert outputs, f"no {rule} job for the new seed"
        assert all("seed-8" in o for o in outputs), (rule, outputs)
    for upstream in ("simulate", "validate_split", "michel_calibration", "dataset_summary"):
        assert not _jobs(plan, upstream), upstream
    assert len(_jobs(plan, "train")) == 3
    assert len(_jobs(plan, "michel")) == 3  # not the truth run


@pytest.mark.workflow
@pytest.mark.slow
def test_two_seed_tables(two_seed_run, run_snakemake):
    workdir, _, layer = two_seed_run
    tables = workdir / "results" / "tables"
    with open(tables / "accuracy.csv") as f:
        header = next(csv.reader(f))
    assert {"relabeled_relabeled_mean", "relabeled_relabeled_sd"} <= set(header)
    with open(tables / "seed_gap.csv") as f:
        gaps = list(csv.DictReader(f))
    assert [g["seed"] for g in gaps] == ["7", "8"]
    for g in gaps:
        if g["regular_regular"] and g["relabeled_relabeled"]:
            gap = float(g["relabeled_relabeled"]) - float(g["regular_regular"])
            assert float(g["gap"]) == pytest.approx(gap)
    with open(tables / "michel.csv") as f:
        michel = {r["variant"]: r for r in csv.DictReader(f)}
    assert michel["relabeled"]["seed"] == "7" and michel["relabeled"]["seeds"] == "2"
    assert michel["truth"]["seeds"] == "1"
    for variant in ("regular", "relabeled", "weighted"):
        for seed in (7, 8):
            assert (workdir / f"results/michel/{variant}/seed-{seed}/metrics.json").exists()
    # the one-seed study's trainings are still up to date, and so is the two-seed study
    again = run_snakemake(workdir, "-n", "--cores", "1", "--configfile", str(SMOKE), str(layer))
    assert "Nothing to be done" in again.stdout, again.stdout[-3000:]
    one = run_snakemake(workdir, "-n", "--cores", "1", "--configfile", str(SMOKE))
    assert one.returncode == 0, one.stdout[-3000:]
    assert not _jobs(one.stdout, "train") and not _jobs(one.stdout, "infer")
