"""The smoke run's HTML report, opened in headless Chromium: it renders, raises no JS error, and
its front page shows the study, the run's configuration and the result tables as text.

Chromium comes from ``make browser`` (Debian's ``chromium``). Without it the test is skipped,
except under CI (``CI=true``), where a skip would hide a broken report and so it fails.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM_TIMEOUT_S = 120
#: Report categories the workflow declares (the issue's list).
CATEGORIES = ["Dataset", "Training", "Accuracy", "Michel"]


def chromium() -> str:
    """Path of the Chromium binary; skip (or fail under CI) when it is not installed."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "chromium is not installed (`make browser` installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def headless(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium offline with a throwaway profile; stdout and stderr kept apart."""
    cmd = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=15000",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S)


def console_errors(stderr: str) -> list[str]:
    """JavaScript errors Chromium logged from the page's console (uncaught or console.error)."""
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line and ("Uncaught" in line or ":ERROR:CONSOLE" in line)
    ]


def rendered_app_text(dom: str) -> str:
    """The visible text of the report's ``<div id="app">`` after JavaScript built it."""
    app = dom.split('<div id="app">', 1)[1]
    for pattern in (r"<script.*?</script>", r"<style.*?</style>", r"<[^>]+>"):
        app = re.sub(pattern, " ", app, flags=re.DOTALL)
    return " ".join(app.split())


def test_report_renders_without_javascript_errors(smoke_run, tmp_path: Path):
    binary = chromium()
    report = smoke_run.workdir / "results" / "report.html"
    assert report.is_file()
    url = report.as_uri()

    dom = headless(binary, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-3000:]
    assert not console_errors(dom.stderr), console_errors(dom.stderr)
    assert '<div id="loading-screen" style="display: none;">' in dom.stdout, "still loading"
    text = rendered_app_text(dom.stdout)
    assert "Workflow" in text and "Results" in text, f"report rendered almost nothing: {text!r}"
    for category in CATEGORIES:
        assert category in text, f"category {category} not in the rendered report: {text!r}"

    screenshot = tmp_path / "report.png"
    shot = headless(
        binary,
        tmp_path / "profile-shot",
        f"--screenshot={screenshot}",
        "--window-size=1400,1000",
        "--hide-scrollbars",
        url,
    )
    assert shot.returncode == 0, shot.stderr[-3000:]
    assert not console_errors(shot.stderr), console_errors(shot.stderr)
    assert screenshot.read_bytes().startswith(PNG_MAGIC)
    assert screenshot.stat().st_size > 20_000, "screenshot is (nearly) blank"


def accuracy_cells(path: Path) -> list[str]:
    """The accuracy table's cells as the report prints them: ``value [lo, hi]``, one decimal."""
    with open(path) as f:
        rows = list(csv.DictReader(f))
    keys = [k for k in rows[0] if k != "class" and not k.endswith(("_lo", "_hi"))]
    cells = []
    for row in rows:
        for key in keys:
            if row[key]:
                value, lo, hi = (float(row[key + s]) for s in ("", "_lo", "_hi"))
                cells.append(f"{value:.1f} [{lo:.1f}, {hi:.1f}]")
    return cells


def test_front_page_shows_the_study_the_config_and_the_tables(smoke_run, tmp_path: Path):
    """The page Chromium renders first carries the accuracy table's numbers as visible text."""
    binary = chromium()
    results = smoke_run.workdir / "results"
    dom = headless(binary, tmp_path / "profile", "--dump-dom", (results / "report.html").as_uri())
    assert dom.returncode == 0, dom.stderr[-3000:]
    text = rendered_app_text(dom.stdout)
    assert "Michel electron relabeling study" in text
    assert "arXiv:1903.05663" in text
    # the smoke config's numbers, from the run's configuration
    assert "12 / 4 / 8 events" in text and "cubes of 64³ voxels" in text
    assert "6 steps of 2 events" in text
    cells = accuracy_cells(results / "tables" / "accuracy.csv")
    assert len(cells) == 5 * 4  # five classes, four columns
    text_cells = re.sub(r"\s+", " ", text)
    missing = [c for c in cells if c not in text_cells]
    assert not missing, f"accuracy cells not visible on the front page: {missing}"
    assert "Michel electrons" in text and "Regular → Relabeled" in text
    # the Michel table too, a row per variant and selection
    for variant in ("regular", "relabeled", "weighted", "truth"):
        for selection in ("paper", "added"):
            assert f" {variant} {selection} 8 " in text_cells, (variant, selection)


def test_each_table_is_one_html_report_entry(smoke_run):
    """Tables enter the report once each, as HTML (not as CSV/Markdown/LaTeX downloads)."""
    report = (smoke_run.workdir / "results" / "report.html").read_text()
    for name in ("accuracy", "michel", "dataset", "accuracy_by_energy_delta"):
        assert report.count(f'"{name}.html"') >= 1, name
        for suffix in ("csv", "md", "tex"):
            assert f'"{name}.{suffix}"' not in report, f"{name}.{suffix} is a report entry"
