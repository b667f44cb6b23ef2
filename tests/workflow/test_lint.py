"""`snakemake --lint` passes, and every rule names its software (conda env and container).

The lint covers: a log per rule, a conda env or container per rule, no variable from outside a
rule in a shell command (the interpreter is `python` from the job's environment), no functions in
the rule files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.workflow]


@pytest.mark.parametrize("config", ["config.yaml", "workflow/configs/paper.yaml"])
def test_lint_passes(tmp_path: Path, run_snakemake, config: str):
    """Both dataset branches (simulate, open data) define their rules, so both are linted."""
    proc = run_snakemake(tmp_path, "--lint", "--configfile", str(REPO / config), timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout


def test_conda_env_lists_the_project_dependencies():
    """The conda env carries every runtime dependency of pyproject.toml but Snakemake's own."""
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "workflow/envs/lartpc.yaml").read_text())
    names = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            names.update(p.split("==")[0] for p in dep["pip"] if not p.startswith("-"))
        else:
            names.add(dep.split("=")[0].split(">")[0].split("<")[0].strip())
    names = {"matplotlib" if n == "matplotlib-base" else n for n in names}
    wanted = {
        d.split(">")[0].split("=")[0].split("<")[0].strip()
        for d in project["dependencies"]
        if not d.startswith("snakemake")
    }
    assert wanted - names == set()


def test_container_recipe_copies_files_that_exist():
    recipe = (REPO / "workflow/containers/lartpc.def").read_text()
    files = recipe.split("%files", 1)[1].split("%", 1)[0]
    sources = [line.split()[0] for line in files.strip().splitlines()]
    assert sources, "the recipe copies nothing"
    for source in sources:
        assert (REPO / source).exists(), source
    assert "pip install --no-cache-dir /opt/lartpc-seg" in recipe


def test_rules_run_python_from_the_job_environment(tmp_path: Path, run_snakemake):
    """Shell commands say `python -m`, never an interpreter path baked in at parse time."""
    proc = run_snakemake(tmp_path, "-n", "-p", "--cores", "2", timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    commands = [line for line in proc.stdout.splitlines() if " -m lartpc_seg " in line]
    assert commands
    assert all(
        line.lstrip().startswith(("python -m", "Shell command: python -m")) for line in commands
    )
