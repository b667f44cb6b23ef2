"""Bad workflow configurations: refused before any job runs, in one line naming file and key.

Each case edits a copy of workflow/configs/smoke.yaml and runs Snakemake for real (not ``-n``,
which never runs a job) on a cheap target: a configuration that slipped through would simulate
a shard, and the test would see it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def _osf_without_url(config: dict) -> None:
    config["dataset"]["source"] = "osf"
    config["dataset"]["osf"] = {"files": [{"sha256": "0" * 64, "split": "train"}]}


def _set(section: str, key: str, value: object):
    def change(config: dict) -> None:
        config[section][key] = value

    return change


def _rename(section: str, key: str, new: str):
    def change(config: dict) -> None:
        config[section][new] = config[section].pop(key)

    return change


def _simulation(**values):
    def change(config: dict) -> None:
        config["dataset"].setdefault("simulation", {}).update(values)

    return change


def _duplicated_train_block(config: dict) -> str:
    """The smoke config with a second ``train:`` block at the end (YAML keeps only the last)."""
    return yaml.safe_dump(config, sort_keys=False) + "train:\n  iterations: 3\n"


def _variant(name: str):
    def change(config: dict) -> None:
        config["train"]["variants"] = {name: {"labels": "relabel"}}

    return change


def _power_without_weights(config: dict) -> None:
    config["train"]["variants"] = {
        "relabeled": {"labels": "relabel", "class_weight_power": 0.5},
    }


def _seed(config: dict) -> None:
    config["seed"] = -3


def _global_batch(config: dict) -> None:
    config["train"].update(workers=2, global_batch=3)


#: name → (change to the smoke config (returns the file's text, or None to dump the dict),
#: key the message must name, regular expression the message must match)
CASES = {
    "misspelt-key": (
        _rename("dataset", "shard_events", "shard_event"),
        "dataset.shard_event",
        r"'shard_event' was unexpected; did you mean 'shard_events'",
    ),
    "misspelt-section": (
        lambda c: c.update(trian=c.pop("train")),
        "trian",
        r"'trian' was unexpected; did you mean 'train'",
    ),
    "wrong-type": (
        _set("dataset", "grid", "sixty-four"),
        "dataset.grid",
        r"'sixty-four' is not of type 'integer'",
    ),
    "number-as-string": (
        _set("train", "lr", "1e-3"),
        "train.lr",
        r"'1e-3' is not of type 'number' \(a number read as text",
    ),
    "out-of-range": (
        _set("train", "iterations", 0),
        "train.iterations",
        r"0 is less than the minimum of 1",
    ),
    "zero-log-every": (
        _set("train", "log_every", 0),
        "train.log_every",
        r"0 is less than the minimum of 1",
    ),
    "zero-shard-size": (
        _set("dataset", "shard_events", 0),
        "dataset.shard_events",
        r"0 is less than the minimum of 1",
    ),
    "negative-lr": (
        _set("train", "lr", -0.001),
        "train.lr",
        r"-0.001 is less than or equal to the minimum of 0",
    ),
    "negative-seed": (_seed, "seed", r"-3 is less than the minimum of 0"),
    "osf-file-without-url": (_osf_without_url, "dataset.osf.files.0", r"'url' is a required"),
    "unknown-backend": (
        _set("model", "backend", "tensorflow"),
        "model.backend",
        r"'tensorflow' is not one of \['torch', 'minkowski'\]",
    ),
    "duplicated-key": (
        _duplicated_train_block,
        None,
        r"line \d+: key 'train' is defined twice \(lines \d+ and \d+\)",
    ),
    "simulation-typo": (
        _simulation(stoping_muons=[1, 2]),
        "dataset.simulation.stoping_muons",
        r"unknown simulator option; did you mean 'stopping_muons'",
    ),
    "simulation-bad-value": (
        _simulation(mu_plus_fraction=2.0),
        "dataset.simulation",
        r"mu_plus_fraction must lie in \[0, 1\]",
    ),
    "grid-below-twice-the-margin": (
        _simulation(stopping_muon_margin_vox=40, stopping_muons=[1, 2]),
        "dataset.simulation.stopping_muon_margin_vox",
        r"grid of 64 \(needs grid > 2 x margin\).*no Michel electrons",
    ),
    "variant-not-an-identifier": (
        _variant("my variant"),
        "train.variants.my variant",
        r"'my variant' is not an identifier",
    ),
    "power-without-class-weights": (
        _power_without_weights,
        "train.variants.relabeled.class_weight_power",
        r"is set but class_weights is false",
    ),
    "global-batch-not-shared": (
        _global_batch,
        "train.global_batch",
        r"3 events per step cannot be shared by 2 workers",
    ),
}

#: Snakemake's own notices before the Snakefile runs (the profile and config layers in use).
SNAKEMAKE_NOTICES = ("Using workflow specific profile", "Config file ")

#: A cheap job every accepted configuration would run (one simulated validation shard).
TARGET = "data/val/0.root"


def _start(workdir: Path, *configfiles: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(SNAKEMAKE),
            "--cores",
            "1",
            "-s",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            *map(str, configfiles),
            "--",
            TARGET,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _smoke() -> dict:
    return yaml.safe_load((REPO / "workflow/configs/smoke.yaml").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path, Path]]:
    """Every case's Snakemake run, started together (each spends seconds importing)."""
    started = {}
    for case, (change, _, _) in CASES.items():
        workdir = tmp_path_factory.mktemp(case)
        config = _smoke()
        text = change(config)
        configfile = workdir / "config.yaml"
        configfile.write_text(text if text is not None else yaml.safe_dump(config))
        started[case] = (_start(workdir, configfile), workdir, configfile)
    # two layers: the mistake is in the second file, which the message must name
    workdir = tmp_path_factory.mktemp("layers")
    base, layer = workdir / "base.yaml", workdir / "study.yaml"
    base.write_text(yaml.safe_dump(_smoke()))
    layer.write_text("train:\n  iterations: 0\n")
    started["layers"] = (_start(workdir, base, layer), workdir, layer)
    workdir = tmp_path_factory.mktemp("missing")
    missing = workdir / "no_such_config.yaml"
    started["missing"] = (_start(workdir, missing), workdir, missing)
    done = {}
    for case, (process, workdir, configfile) in started.items():
        stdout, stderr = process.communicate(timeout=600)
        done[case] = (
            subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr),
            workdir,
            configfile,
        )
    return done


def _assert_refused(
    done: subprocess.CompletedProcess,
    configfile: Path,
    key: str | None,
    pattern: str,
    workdir: Path,
) -> None:
    """Non-zero exit, one ``error:`` line naming the file and key, no dump, no job run."""
    text = done.stdout + done.stderr
    assert done.returncode != 0, text
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, f"expected one error line:\n{text}"
    line = errors[0]
    assert line.startswith(f"error: {configfile}: "), f"{configfile} not named first: {line}"
    if key is not None:
        assert f": {key}: " in line, f"key {key} not named: {line}"
    assert re.search(pattern, line), f"/{pattern}/ not in: {line}"
    others = [
        line
        for line in text.strip().splitlines()
        if line != errors[0] and not line.startswith(SNAKEMAKE_NOTICES)
    ]
    assert others == [], f"more than the error line (a config dump?):\n{text}"
    made = [p for p in workdir.rglob("*") if ".snakemake" not in p.parts and p.suffix != ".yaml"]
    assert made == [], f"a refused config produced {made}"


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_bad_config_is_refused_naming_the_file_and_key(case, runs):
    done, workdir, configfile = runs[case]
    _, key, pattern = CASES[case]
    _assert_refused(done, configfile, key, pattern, workdir)


@pytest.mark.slow
def test_the_file_that_set_the_key_is_named(runs):
    done, workdir, layer = runs["layers"]
    _assert_refused(done, layer, "train.iterations", r"0 is less than the minimum", workdir)


@pytest.mark.slow
def test_missing_configfile_is_named(runs):
    done, tmp_path, missing = runs["missing"]
    assert done.returncode != 0
    assert f"No such file or directory: '{missing}'" in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) in ([], [tmp_path / ".snakemake"])


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="snakemake 9 (snakemake/common/configfile.py, _load_configfile) lets the "
    "FileNotFoundError of a missing --configfile escape as a traceback instead of a one-line "
    "error, before the Snakefile (and so the project's checks) is read",
)
def test_missing_configfile_without_traceback(runs):
    done, tmp_path, missing = runs["missing"]
    _assert_refused(done, missing, None, "no such", tmp_path)


def test_every_object_of_the_schema_refuses_unknown_keys():
    """A typo anywhere is refused: each object level closes its keys.

    ``dataset.simulation`` is the exception: its keys are the simulator's
    (:class:`~lartpc_seg.simulation.config.SimulationConfig`), checked by
    :func:`lartpc_seg.config_check.simulation_problem` rather than repeated in the schema.
    """
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    open_levels = []

    def walk(node: dict, path: str) -> None:
        if node.get("type") == "object" and "additionalProperties" not in node:
            open_levels.append(path)
        for key, child in node.get("properties", {}).items():
            walk(child, f"{path}.{key}".lstrip("."))
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            walk(extra, f"{path}.*")
        if isinstance(node.get("items"), dict):
            walk(node["items"], f"{path}[]")

    walk(schema, "")
    assert open_levels == ["dataset.simulation"]


@pytest.mark.parametrize(
    "files",
    [["config.yaml"], ["config.yaml", "workflow/configs/smoke.yaml"]]
    + [
        ["config.yaml", str(p.relative_to(REPO))]
        for p in (REPO / "workflow/configs").glob("*.yaml")
    ],
    ids=lambda files: files[-1],
)
def test_the_shipped_configurations_pass_the_checks(files):
    """The checks refuse mistakes only: every configuration of the repository passes them."""
    from lartpc_seg.config_check import check_workflow_config, load_config_file

    config: dict = {}
    for name in files:
        layer = load_config_file(REPO / name)
        for key, value in layer.items():
            if isinstance(value, dict) and isinstance(config.get(key), dict):
                config[key] = {**config[key], **value}
            else:
                config[key] = value
    check_workflow_config(
        config, [REPO / f for f in files], None, REPO / "workflow/schemas/config.schema.yaml"
    )
    assert config["train"]["variants"], "the schema's defaults were applied"
