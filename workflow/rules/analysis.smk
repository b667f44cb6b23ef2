# Analysis: per-class accuracy table, training curves, Michel reconstruction and tables.

from analysis.accuracy.types import STUDY_COLUMNS


def accuracy_columns():
    """The study's accuracy columns (column → (variant, true labels)) of the trained variants."""
    return {c: vl for c, vl in STUDY_COLUMNS.items() if vl[0] in config["train"]["variants"]}


def accuracy_variants():
    """Variants the accuracy table scores, in a fixed order (a set's order changes per process,
    and a changed order of the params would rerun the rule every time)."""
    return list(dict.fromkeys(v for v, _ in accuracy_columns().values()))


def accuracy_predictions():
    """Prediction files of every scored variant (the input of the accuracy rules)."""
    return [p for v in accuracy_variants() for p in predictions(v)]


def accuracy_arguments():
    """The ``--column`` and ``--predictions`` options of the accuracy commands."""
    columns = [f"--column {c}={v}:{lab}" for c, (v, lab) in accuracy_columns().items()]
    files = [f"--predictions {v}=" + ",".join(predictions(v)) for v in accuracy_variants()]
    return " ".join(columns + files)


rule accuracy:
    input:
        events=shard_files("test"),
        predictions=accuracy_predictions(),
    output:
        report(
            multiext("results/tables/accuracy", ".csv", ".md", ".tex"),
            caption="../report/accuracy_table.rst",
            category="Accuracy",
        ),
        json="results/tables/accuracy.json",
        confusion=report(
            expand("results/plots/accuracy/confusion_{column}.png", column=accuracy_columns()),
            caption="../report/confusion.rst",
            category="Accuracy",
        ),
    params:
        scored=accuracy_arguments(),
        bootstrap=config["analysis"]["bootstrap"],
        seed=config["seed"],
    log:
        "logs/accuracy.log",
    shell:
        "{PY} analysis accuracy --events {input.events:q} {params.scored}"
        " --bootstrap {params.bootstrap} --seed {params.seed} --out results/tables/accuracy"
        " --plots results/plots/accuracy > {log} 2>&1"


rule accuracy_by_energy:
    input:
        events=shard_files("test"),
        predictions=accuracy_predictions(),
    output:
        report(
            multiext("results/tables/accuracy_by_energy_{cls}", ".csv", ".md", ".tex"),
            caption="../report/accuracy_by_energy.rst",
            category="Accuracy",
        ),
    wildcard_constraints:
        cls="delta|michel",
    params:
        scored=accuracy_arguments(),
    log:
        "logs/accuracy_by_energy_{cls}.log",
    shell:
        "{PY} analysis accuracy-by-energy --class {wildcards.cls} --events {input.events:q}"
        " {params.scored} --out results/tables/accuracy_by_energy_{wildcards.cls}"
        " > {log} 2>&1"


rule training_curves:
    input:
        expand("results/train/{variant}/log.csv", variant=variants()),
    output:
        report(
            "results/plots/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
        ),
    params:
        logs=" ".join(f"--log {v}=results/train/{v}/log.csv" for v in variants()),
    log:
        "logs/training_curves.log",
    shell:
        "{PY} analysis curves {params.logs} --out {output} > {log} 2>&1"


MICHEL_FIGURES = [
    "michel_npix",
    "michel_energy_spectra",
    "michel_energy_2d",
    "michel_resolution",
    "michel_purity_efficiency",
]


def michel_predictions(w):
    return [] if w.variant == "truth" else predictions(w.variant)


rule michel_calibration:
    input:
        shard_files("train"),
    output:
        "results/michel/calibration.json",
    threads: config["analysis"]["threads"]
    log:
        "logs/michel/calibration.log",
    shell:
        "{PY} analysis michel-calibration --events {input:q} --threads {threads}"
        " --out {output} > {log} 2>&1"


rule michel:
    input:
        events=shard_files("test"),
        predictions=michel_predictions,
        calibration=(
            "results/michel/calibration.json"
            if config["analysis"]["michel"]["calibrate"]
            else []
        ),
    output:
        root="results/michel/{variant}/michel.root",
        parquet="results/michel/{variant}/michel.parquet",
        metrics="results/michel/{variant}/metrics.json",
        plots=report(
            expand("results/michel/{{variant}}/{name}.png", name=MICHEL_FIGURES),
            caption="../report/michel_plots.rst",
            category="Michel",
            subcategory="{variant}",
        ),
    params:
        source=lambda w, input: (
            "--truth" if w.variant == "truth" else f"--predictions {' '.join(input.predictions)}"
        ),
        calibration=lambda w, input: (
            f"--calibration {input.calibration}" if input.calibration else ""
        ),
        bootstrap=config["analysis"]["bootstrap"],
        seed=config["seed"],
    threads: config["analysis"]["threads"]
    log:
        "logs/michel/{variant}.log",
    shell:
        "{PY} analysis michel --events {input.events:q} {params.source} {params.calibration}"
        " --bootstrap {params.bootstrap} --seed {params.seed}"
        " --variant {wildcards.variant} --threads {threads}"
        " --out results/michel/{wildcards.variant} > {log} 2>&1"


rule michel_table:
    input:
        expand("results/michel/{variant}/metrics.json", variant=[*variants(), "truth"]),
    output:
        report(
            multiext("results/tables/michel", ".csv", ".md", ".tex"),
            caption="../report/michel_table.rst",
            category="Michel",
        ),
    params:
        metrics=" ".join(f"{v}=results/michel/{v}/metrics.json" for v in [*variants(), "truth"]),
    log:
        "logs/michel_table.log",
    shell:
        "{PY} analysis michel-table --metrics {params.metrics} --out results/tables/michel > {log} 2>&1"


def analysis_outputs():
    return [
        "results/tables/accuracy.csv",
        *expand("results/tables/accuracy_by_energy_{cls}.csv", cls=["delta", "michel"]),
        "results/plots/training_curves.png",
        "results/tables/michel.csv",
    ]


rule training_log:
    input:
        "results/train/{variant}/log.csv",
    output:
        report(
            "results/report/training/{variant}_log.csv",
            caption="../report/training_log.rst",
            category="Training",
            subcategory="{variant}",
        ),
    shell:
        "cp {input} {output}"


def report_outputs():
    """Files that exist only to put something into the HTML report."""
    return expand("results/report/training/{variant}_log.csv", variant=variants())
