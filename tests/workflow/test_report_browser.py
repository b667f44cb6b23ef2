"""The smoke run's HTML report, opened in headless Chromium: it renders and raises no JS error.

Chromium comes from ``make browser`` (Debian's ``chromium``). Without it the test is skipped,
except under CI (``CI=true``), where a skip would hide a broken report and so it fails.
"""

from __future__ import annotations

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
