"""Bad workflow configurations: ``snakemake -n`` refuses them, naming the key, and runs nothing.

The Snakefile validates the config against workflow/schemas/config.schema.yaml; each case edits a
copy of workflow/configs/smoke.yaml.
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


#: name → (change to the smoke config, regular expression the message must match)
CASES = {
    "misspelt-key": (
        _rename("dataset", "shard_events", "shard_event"),
        r"'shard_event' was unexpected",
    ),
    "misspelt-section": (lambda c: c.update(trian=c.pop("train")), r"'trian' was unexpected"),
    "wrong-type": (_set("dataset", "grid", "sixty-four"), r"'sixty-four' is not of type 'integer'"),
    "out-of-range": (_set("train", "iterations", 0), r"0 is less than the minimum of 1"),
    "osf-file-without-url": (_osf_without_url, r"'url' is a required property"),
    "unknown-backend": (
        _set("model", "backend", "tensorflow"),
        r"'tensorflow' is not one of \['torch', 'minkowski'\]",
    ),
}


def _start(workdir: Path, configfile: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(SNAKEMAKE),
            "-n",
            "-s",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(configfile),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def dry_runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Every case's ``snakemake -n``, started together (each spends seconds importing)."""
    smoke = yaml.safe_load((REPO / "workflow/configs/smoke.yaml").read_text())
    started = {}
    for case, (change, _) in CASES.items():
        workdir = tmp_path_factory.mktemp(case)
        config = yaml.safe_load(yaml.safe_dump(smoke))
        change(config)
        configfile = workdir / "config.yaml"
        configfile.write_text(yaml.safe_dump(config))
        started[case] = (_start(workdir, configfile), workdir)
    workdir = tmp_path_factory.mktemp("missing")
    started["missing"] = (_start(workdir, workdir / "no_such_config.yaml"), workdir)
    done = {}
    for case, (process, workdir) in started.items():
        stdout, stderr = process.communicate(timeout=300)
        done[case] = (
            subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr),
            workdir,
        )
    return done


def _assert_refused(done: subprocess.CompletedProcess, pattern: str, workdir: Path) -> None:
    text = done.stdout + done.stderr
    assert done.returncode != 0, text
    assert "Traceback" not in text, text
    assert re.search(pattern, text), f"/{pattern}/ not in:\n{text}"
    made = [p for p in workdir.rglob("*") if ".snakemake" not in p.parts and p.suffix != ".yaml"]
    assert made == [], f"a refused config produced {made}"


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_bad_config_is_refused_naming_the_key(case, dry_runs):
    done, workdir = dry_runs[case]
    _assert_refused(done, CASES[case][1], workdir)


@pytest.mark.slow
def test_missing_configfile_is_named(dry_runs):
    done, tmp_path = dry_runs["missing"]
    missing = tmp_path / "no_such_config.yaml"
    assert done.returncode != 0
    assert f"No such file or directory: '{missing}'" in done.stdout + done.stderr
    assert list(tmp_path.iterdir()) in ([], [tmp_path / ".snakemake"])


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="snakemake 9 (snakemake/common/configfile.py, _load_configfile) lets the "
    "FileNotFoundError of a missing --configfile escape as a traceback instead of a one-line error",
)
def test_missing_configfile_without_traceback(dry_runs):
    done, tmp_path = dry_runs["missing"]
    _assert_refused(done, str(tmp_path / "no_such_config.yaml"), tmp_path)
