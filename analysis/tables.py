"""Small result tables written as CSV, Markdown, LaTeX and HTML, atomically, without pandas.

The HTML file is a fragment (a captioned ``<table>``): the Snakemake report shows it as an entry
of its own and the report's front page embeds it.

Example
-------
>>> write_table([{"class": "MIP", "acc": 99.4}], ["class", "acc"], Path("t/acc"), "Accuracy")
[PosixPath('t/acc.csv'), PosixPath('t/acc.md'), PosixPath('t/acc.tex')]
"""

from __future__ import annotations

import csv
import html
import math
from collections.abc import Sequence
from pathlib import Path

from lartpc_seg.io.atomic import atomic_path

FORMATS = ("csv", "md", "tex", "html")

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def format_cell(value: object, digits: int = 1) -> str:
    """Text of one cell: floats with ``digits`` decimals, NaN and None as empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _csv_cell(value: object) -> object:
    """A CSV cell: full precision, empty for None and NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value


def to_csv(rows: Sequence[dict], columns: Sequence[str], path: Path) -> None:
    """Write ``rows`` as CSV with full-precision numbers (empty cells for missing values)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in columns])


def to_markdown(rows: Sequence[dict], columns: Sequence[str], caption: str, digits: int = 1) -> str:
    """A GitHub Markdown table with ``caption`` as a line above it."""
    lines = [f"{caption}", "", "| " + " | ".join(columns) + " |"]
    lines.append("|" + "|".join("---" for _ in columns) + "|")
    for row in rows:
        lines.append("| " + " | ".join(format_cell(row.get(c), digits) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def to_latex(rows: Sequence[dict], columns: Sequence[str], caption: str, digits: int = 1) -> str:
    """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
    spec = "l" + "r" * (len(columns) - 1)
    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        rf"\caption{{{_latex_escape(caption)}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(_latex_escape(c) for c in columns) + r" \\",
        r"\midrule",
    ]
    for row in rows:
        cells = [_latex_escape(format_cell(row.get(c), digits)) for c in columns]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


#: Inline style of the HTML tables: readable on its own page and inside the report.
_HTML_STYLE = (
    "table.result{border-collapse:collapse;font:14px/1.4 sans-serif;margin:1em 0}"
    "table.result caption{caption-side:top;text-align:left;max-width:60em;padding-bottom:.5em}"
    "table.result th,table.result td{border-bottom:1px solid #ccc;padding:.25em .6em}"
    "table.result td{text-align:right;white-space:nowrap}"
    "table.result td:first-child,table.result th{text-align:left}"
)


def to_html(rows: Sequence[dict], columns: Sequence[str], caption: str, digits: int = 1) -> str:
    """An HTML fragment: a ``<table class="result">`` with ``caption``, cells escaped."""
    esc = html.escape
    lines = [
        f"<style>{_HTML_STYLE}</style>",
        '<table class="result">',
        f"<caption>{esc(caption)}</caption>",
        "<thead><tr>" + "".join(f"<th>{esc(c)}</th>" for c in columns) + "</tr></thead>",
        "<tbody>",
    ]
    for row in rows:
        cells = "".join(f"<td>{esc(format_cell(row.get(c), digits))}</td>" for c in columns)
        lines.append(f"<tr>{cells}</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines) + "\n"


_RENDERERS = {"md": to_markdown, "tex": to_latex, "html": to_html}


def write_table(
    rows: list[dict],
    columns: list[str],
    stem: Path,
    caption: str,
    formats: Sequence[str] = FORMATS,
    *,
    digits: int = 1,
    text_rows: list[dict] | None = None,
) -> list[Path]:
    """Write one table as ``stem.csv``, ``.md``, ``.tex`` and ``.html`` (each atomically).

    Parameters
    ----------
    rows : list of dict
        One dict per row, column name → value; a missing key is an empty cell.
    columns : list of str
        Column order (and header).
    stem : Path
        Output path without suffix; its directory is created.
    caption : str
        Caption of the Markdown, LaTeX and HTML tables.
    formats : sequence of {"csv", "md", "tex", "html"}
        Which files to write.
    digits : int
        Decimals of floats in the Markdown, LaTeX and HTML tables (CSV keeps full precision).
    text_rows : list of dict, optional
        Extra rows for the Markdown, LaTeX and HTML tables only (e.g. a paper's reference values).

    Returns
    -------
    list of Path
        The files written.
    """
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown table formats {sorted(unknown)}; known: {FORMATS}")
    stem = Path(stem)
    shown = list(rows) + list(text_rows or [])
    written = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        if fmt == "csv":
            to_csv(rows, columns, path)
        else:
            text = _RENDERERS[fmt](shown, columns, caption, digits)
            with atomic_path(path) as tmp:
                tmp.write_text(text)
        written.append(path)
    return written
