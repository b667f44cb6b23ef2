"""The layout rules of docs/architecture.md, checked on the source: command modules, package
dependencies, import cycles and module sizes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("lartpc_seg", "analysis")
#: Longest a module may be without a reason (a docstring line "Longer than 400 lines: ...").
MAX_LINES = 400
#: Modules over the limit whose split belongs to another issue, with that issue.
PENDING_SPLITS = {"lartpc_seg/benchmark/engine.py": "issue #20 (the engine benchmark)"}


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the two packages."""
    out = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module an import statement of the file names, at module level or in a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {n for n in names if n in MODULES}


def _is_command_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return (
        last in ("command", "cli")
        or last.endswith("_command")
        or name.startswith("lartpc_seg.benchmark.")
    )


def test_argparse_lives_only_in_command_modules():
    offenders = [
        name
        for name, path in MODULES.items()
        if "argparse" in {n.split(".")[0] for n in _all_imports(path)}
        and not _is_command_module(name)
    ]
    assert offenders == [], f"argparse outside command modules: {offenders}"


def _all_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_every_cli_command_is_a_command_module():
    from analysis.cli import COMMANDS as ANALYSIS
    from lartpc_seg.benchmark.command import BENCHMARKS
    from lartpc_seg.cli import COMMANDS as LIBRARY

    for table in (ANALYSIS, LIBRARY, BENCHMARKS):
        for module, _ in table.values():
            assert module in MODULES, module
            assert _is_command_module(module), module


def test_the_library_never_imports_the_analysis():
    for name, path in MODULES.items():
        if name.startswith("lartpc_seg"):
            assert not any(n.split(".")[0] == "analysis" for n in _all_imports(path)), name
            assert '"analysis.' not in path.read_text(), f"{name} names an analysis module"


def test_no_import_cycles():
    graph = {name: _imports(path) - {name} for name, path in MODULES.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_long_modules_say_why():
    for path in MODULES.values():
        rel = str(path.relative_to(REPO))
        lines = len(path.read_text().splitlines())
        if lines <= MAX_LINES or rel in PENDING_SPLITS:
            continue
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        assert "Longer than 400 lines:" in doc, f"{rel} has {lines} lines and no reason at its top"
