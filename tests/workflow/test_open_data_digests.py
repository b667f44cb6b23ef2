"""The open-data config's all-zero digests: the dry run says so in one line, and only an
explicit `dataset.osf.verify: false` turns verification off."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PAPER = REPO / "workflow" / "configs" / "paper.yaml"

pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def dry_run(run_snakemake, workdir: Path, config: Path):
    proc = run_snakemake(workdir, "-n", "-p", "--cores", "2", "--configfile", str(config))
    assert proc.returncode == 0, proc.stdout[-3000:]
    return proc.stdout


def test_dry_run_says_the_digests_are_placeholders(tmp_path: Path, run_snakemake):
    out = dry_run(run_snakemake, tmp_path, PAPER)
    warnings = [line for line in out.splitlines() if "placeholder" in line]
    assert len(warnings) == 1, warnings
    assert "3 of 3 sha256 digests" in warnings[0]
    assert "dataset.osf.verify: false" in warnings[0]
    # the download commands still carry the digest, which the command refuses
    assert "--sha256 " + "0" * 64 in out
    assert "--no-verify" not in out


def test_opting_out_is_explicit_and_reaches_the_commands(tmp_path: Path, run_snakemake):
    config = yaml.safe_load(PAPER.read_text())
    config["dataset"]["osf"]["verify"] = False
    path = tmp_path / "unverified.yaml"
    path.write_text(yaml.safe_dump(config))
    out = dry_run(run_snakemake, tmp_path, path)
    assert "placeholder" not in out
    assert out.count("--no-verify") == 3
    assert "--sha256" not in out
    # the record of each download reaches its import, which copies it into the meta tree
    assert "--provenance data/raw/train/0.json" in out


def test_real_digests_give_no_warning(tmp_path: Path, run_snakemake):
    config = yaml.safe_load(PAPER.read_text())
    for k, f in enumerate(config["dataset"]["osf"]["files"]):
        f["sha256"] = f"{k + 1:064x}"
    path = tmp_path / "real.yaml"
    path.write_text(yaml.safe_dump(config))
    out = dry_run(run_snakemake, tmp_path, path)
    assert "placeholder" not in out
    assert "--sha256 " + "0" * 63 + "1" in out
