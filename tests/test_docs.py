"""The documentation is self-contained: every link and doc reference resolves inside the repository.

A user's clone holds only the repository, so a Markdown link to a missing file, a heading that
does not exist, a code comment citing a doc that is not in ``docs/``, or a path into the
workspace beside the repository is a dangling reference. Each check is a function returning the
problems it finds, tested first on hand-made files where the answer is known.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Folders that are not the project's sources: outputs of a run, environments, caches.
SKIPPED_DIRS = {
    ".git",
    ".venv",
    ".snakemake",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "__pycache__",
    "data",
    "results",
    "logs",
    "benchmarks",
}
SKIPPED_TOP_ONLY = {"data", "results", "logs", "benchmarks"}
TEXT_SUFFIXES = {".md", ".py", ".smk", ".rst", ".yaml", ".yml", ".toml", ".cfg", ".txt", ""}

#: The docs the code cites by name; a citation must say ``docs/NAME``.
CITED_DOCS = ("study.md", "physics.md", "benchmarking.md", "style.md", "event-format.md")

#: Paths into the workspace the repository was developed in (built so this file does not match).
OUTSIDE = ("../" + "shared", "/work/" + "shared", "shared/" + "testdata", "/" + "work/")

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$")
DOC_PATH = re.compile(r"(?<![\w.-])docs/[\w./-]*?\.md\b")
BARE_DOC = re.compile(r"(?<![\w./-])(" + "|".join(re.escape(d) for d in CITED_DOCS) + r")")


def source_files(root: Path) -> list[Path]:
    """The repository's text files, outputs of a run and environments left out."""
    found = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIPPED_DIRS - SKIPPED_TOP_ONLY
            and not (here == root and d in SKIPPED_TOP_ONLY)
            and not d.endswith(".egg-info")
        )
        for name in sorted(files):
            path = here / name
            if name == ".git":  # a worktree's .git is a file naming the main checkout
                continue
            if path.suffix in TEXT_SUFFIXES or name in {"Makefile", "Snakefile"}:
                found.append(path)
    return found


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """The numbered lines of a Markdown text outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, repeated headings numbered as GitHub does."""
    seen: dict[str, int] = {}
    out = set()
    for _, line in _prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def link_problems(path: Path, root: Path) -> list[str]:
    """Links of a Markdown file whose target file, or heading, is not in the repository."""
    problems = []
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        for target in LINK.findall(line):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            resolved = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.relative_to(root)}:{number}: link {target!r}"
            if root not in resolved.parents and resolved != root:
                problems.append(f"{where} leaves the repository")
            elif not resolved.exists():
                problems.append(f"{where}: no such file")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                problems.append(f"{where}: no heading #{anchor} in {resolved.name}")
    return problems


def reference_problems(path: Path, root: Path) -> list[str]:
    """Doc citations that do not name a file of ``docs/``, and paths that leave the repository."""
    text = path.read_text(encoding="utf-8", errors="replace")
    rel = path.relative_to(root)
    problems = [f"{rel}: refers to {s!r}, outside the repository" for s in OUTSIDE if s in text]
    for cited in DOC_PATH.findall(text):
        if not (root / cited).is_file():
            problems.append(f"{rel}: cites {cited}, which does not exist")
    in_docs = rel.parts[0] == "docs"
    for name in BARE_DOC.findall(text):
        if not in_docs:
            problems.append(f"{rel}: cites {name} without its folder (write docs/{name})")
        elif not (path.parent / name).is_file():
            problems.append(f"{rel}: cites {name}, which is not in {rel.parent}")
    return problems


# --- the checks, on hand-made trees ----------------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_slug_follows_github():
    assert slug("1. Data and classes") == "1-data-and-classes"
    assert slug("Where the δ rays are missed") == "where-the-δ-rays-are-missed"
    assert slug("The `michel` tree: one entry") == "the-michel-tree-one-entry"


def test_link_checker_finds_missing_files_anchors_and_escapes(tmp_path):
    root = _tree(
        tmp_path,
        {
            "README.md": "[ok](docs/a.md#two-words) [gone](docs/b.md) [bad](docs/a.md#nope)\n"
            "[out](../elsewhere.md) [web](https://example.org/x.md) ![img](docs/fig.png)\n"
            "```\n[in code](not/checked.md)\n```\n",
            "docs/a.md": "# Title\n\n## Two words\n",
        },
    )
    problems = link_problems(root / "README.md", root)
    assert len(problems) == 4, problems
    assert "no such file" in problems[0] and "docs/b.md" in problems[0]
    assert "no heading #nope" in problems[1]
    assert "leaves the repository" in problems[2]
    assert "docs/fig.png" in problems[3]


def test_reference_checker_finds_bare_missing_and_outside_references(tmp_path):
    root = _tree(
        tmp_path,
        {
            "docs/study.md": "See [physics](physics.md) and style.md.\n",
            "pkg/mod.py": '"""Relabeling (study.md §2), docs/physics.md §3, docs/study.md §1."""\n'
            "DATA = '../" + "shared/" + "testdata'\n",
        },
    )
    code = reference_problems(root / "pkg/mod.py", root)
    assert any("cites study.md without its folder" in p for p in code)
    assert any("docs/physics.md, which does not exist" in p for p in code)
    assert any("outside the repository" in p for p in code)
    assert not any("docs/study.md, which" in p for p in code)
    docs = reference_problems(root / "docs/study.md", root)
    assert docs == [
        "docs/study.md: cites physics.md, which is not in docs",
        "docs/study.md: cites style.md, which is not in docs",
    ]


# --- the repository ----------------------------------------------------------------------------

MARKDOWN = [p for p in source_files(ROOT) if p.suffix == ".md"]


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_links_resolve(path):
    assert link_problems(path, ROOT) == []


def test_references_stay_inside_the_repository():
    # This file is left out: its hand-made examples hold the very references it forbids.
    files = [p for p in source_files(ROOT) if p != Path(__file__).resolve()]
    problems = [p for path in files for p in reference_problems(path, ROOT)]
    assert problems == []


def test_readme_and_docs_are_checked():
    names = {str(p.relative_to(ROOT)) for p in MARKDOWN}
    assert {"README.md", "docs/study.md", "docs/event-format.md"} <= names
