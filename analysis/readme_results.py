"""The README's results from a finished run.

The README holds generated blocks between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``
markers; this command rewrites the ``results`` block from the run's tables and the ``backends``
block from the engine benchmark, so the figures quoted in the README are always the ones the
workflow produced. With several training seeds, each value (the first seed's) is followed by the
mean ± sample standard deviation over seeds, and the per-seed Michel gap is listed.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

from analysis.accuracy.types import STUDY_COLUMNS, AccuracyColumn
from analysis.reference import PAPER_ACCURACY_PCT, PAPER_ROW
from lartpc_seg.errors import InputError
from lartpc_seg.labels import Label

MICHEL_COLUMNS = {
    "id_purity": "ID purity",
    "id_efficiency": "ID efficiency",
    "id_efficiency_attached": "ID efficiency (attached)",
    "cluster_purity": "cluster purity",
    "cluster_efficiency": "cluster efficiency",
}


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise InputError(path, "missing: run the workflow first (make run)")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _pct(text: str | float | None, lo: str | None = None, hi: str | None = None) -> str:
    if text in (None, ""):
        return "—"
    value = float(text)
    if math.isnan(value):
        return "—"
    if lo not in (None, "") and hi not in (None, ""):
        return f"{value:.1f} [{float(lo):.1f}, {float(hi):.1f}]"
    return f"{value:.1f}"


def _spread(row: dict[str, str], key: str) -> str:
    """``; mean ± sd`` over training seeds when the table has them, else nothing."""
    mean, sd = row.get(f"{key}_mean", ""), row.get(f"{key}_sd", "")
    if mean in (None, ""):
        return ""
    return f"; {float(mean):.1f} ± {float(sd):.1f}" if sd not in (None, "") else ""


def accuracy_block(path: Path) -> str:
    """Markdown table of the per-class accuracy, measured next to the paper's slide values."""
    rows = {r["class"]: r for r in _read_csv(path)}
    keys = [k for k in STUDY_COLUMNS if k in next(iter(rows.values()), {})]
    head = (
        "| class | "
        + " | ".join(f"{AccuracyColumn(k, *STUDY_COLUMNS[k]).title} (paper)" for k in keys)
        + " |"
    )
    lines = [head, "|---|" + "---|" * len(keys)]
    for cls in Label:
        row = rows.get(cls.title)
        if row is None:
            continue
        cells = [
            f"{_pct(row[k], row.get(f'{k}_lo'), row.get(f'{k}_hi'))} "
            f"({PAPER_ACCURACY_PCT[k][cls]:.1f}){_spread(row, k)}"
            for k in keys
        ]
        lines.append(f"| {cls.title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def michel_block(path: Path) -> str:
    """Markdown table of the Michel metrics per variant (and selection, when the table has
    one), with the slide's row."""
    rows = _read_csv(path)
    selections = bool(rows) and "selection" in rows[0]
    label = "| variant | selection | events | " if selections else "| variant | events | "
    lines = [
        label + " | ".join(MICHEL_COLUMNS.values()) + " |",
        "|---|---|" + ("---|" if selections else "") + "---|" * len(MICHEL_COLUMNS),
    ]
    for r in rows:
        cells = [
            _pct(r.get(k), r.get(f"{k}_lo"), r.get(f"{k}_hi")) + _spread(r, k)
            for k in MICHEL_COLUMNS
        ]
        first = f"| {r['variant']} | {r['selection']} | " if selections else f"| {r['variant']} | "
        lines.append(first + f"{r['sample']} | " + " | ".join(cells) + " |")
    paper = [_pct(PAPER_ROW.get(k)) for k in MICHEL_COLUMNS]
    first = f"| {PAPER_ROW['variant']} | " + ("paper | " if selections else "")
    lines.append(first + f"{PAPER_ROW['sample']} | " + " | ".join(paper) + " |")
    return "\n".join(lines)


def gap_block(path: Path) -> str:
    """Markdown table of the Michel accuracy gap Rel→Rel − Reg→Reg per training seed."""
    lines = [
        "| training seed | Regular → Regular | Relabeled → Relabeled | gap |",
        "|---|---|---|---|",
    ]
    for r in _read_csv(path):
        cells = [_pct(r[k], r.get(f"{k}_lo"), r.get(f"{k}_hi")) for k in GAP_KEYS]
        lines.append(f"| {r['seed']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: The value columns of results/tables/seed_gap.csv.
GAP_KEYS = ("regular_regular", "relabeled_relabeled", "gap")


def spectrum_figure(results: Path) -> Path:
    """The relabeled network's Michel energy spectra, of the training seed the tables give."""
    path = results / "tables" / "accuracy.json"
    if not path.exists():
        raise InputError(path, "missing: run the workflow first (make run)")
    seed = json.loads(path.read_text()).get("training_seed")
    if seed is None:
        raise InputError(
            path, "names no training seed: rerun the accuracy rule", field="training_seed"
        )
    return results / "michel" / "relabeled" / f"seed-{seed}" / "michel_energy_spectra.png"


def dataset_sentence(path: Path) -> str:
    """One sentence on the dataset: events, voxels per event, Michel share, relabeled fraction."""
    rows = _read_csv(path)
    n_events = sum(int(r["n_events"]) for r in rows)
    n_voxels = sum(float(r["n_voxels"]) for r in rows)
    michel = sum(float(r["label_michel_pct"]) * float(r["n_voxels"]) for r in rows) / n_voxels
    relabeled = {r["split"]: float(r["michel_to_shower_pct"]) for r in rows}
    return (
        f"{n_events} simulated events ({n_voxels / n_events:.0f} voxels per event on average); "
        f"{michel:.2f} % of the voxels are Michel with the original labels, and relabeling turns "
        f"{relabeled.get('test', next(iter(relabeled.values()))):.1f} % of them (test split) "
        "into EM shower."
    )


def results_markdown(results: Path) -> str:
    """The whole generated results block."""
    tables = results / "tables"
    dataset = dataset_sentence(tables / "dataset.csv")
    accuracy = _read_csv(tables / "accuracy.csv")
    several = bool(accuracy) and any(name.endswith("_mean") for name in accuracy[0])
    seeds = (
        "; the value is the first training seed's, the mean ± sample standard deviation over "
        "the seeds follows the semicolon"
        if several
        else ""
    )
    parts = [
        dataset,
        "Per-class non-zero accuracy on the test split, percent, with 95 % bootstrap "
        f"intervals over events; the ACAT 2019 slide value in parentheses{seeds} "
        "(`results/tables/accuracy.md`):",
        accuracy_block(tables / "accuracy.csv"),
        "Michel electron reconstruction on the relabeled test labels, percent with 95 % "
        f"intervals{seeds} (`results/tables/michel.md`; `truth` runs the procedure on the "
        "true labels):",
        michel_block(tables / "michel.csv"),
    ]
    if several and (tables / "seed_gap.csv").exists():
        parts += [
            "Michel accuracy of the regular network on the regular labels and of the relabeled "
            "network on the relabeled labels, and the gap between them, per training seed "
            "(`results/tables/seed_gap.md`):",
            gap_block(tables / "seed_gap.csv"),
        ]
    return "\n\n".join(parts)


def backends_markdown(path: Path) -> str:
    """The engine benchmark's summary, rendered by the benchmark module itself."""
    from lartpc_seg.benchmark.engine import engine_markdown

    if not path.exists():
        raise InputError(path, "missing: run `make benchmark` or the workflow's benchmark")
    return engine_markdown(json.loads(path.read_text()))


def replace_block(text: str, name: str, body: str, *, path: Path) -> str:
    """Replace the content between the ``name`` markers of ``text``."""
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(\n<!-- {name}:end -->)", flags=re.DOTALL)
    if not pattern.search(text):
        raise InputError(path, f"no <!-- {name}:start --> ... <!-- {name}:end --> markers")
    note = "<!-- generated by `make readme` from the run's outputs; do not edit by hand -->\n"
    return pattern.sub(lambda m: m.group(1) + note + body + m.group(2), text)
