# Analysis: per-class accuracy table, training curves, Michel reconstruction and tables. With
# several training seeds (train.seeds) the tables give the first seed's values with their
# bootstrap intervals and the mean and spread over seeds beside them.

rule accuracy:
    input:
        events=shard_files("test"),
        predictions=accuracy_predictions(),
    output:
        multiext("results/tables/accuracy", ".csv", ".md", ".tex"),
        html=report(
            "results/tables/accuracy.html",
            caption="../report/accuracy_table.rst",
            category="Accuracy",
            subcategory="Tables",
            labels={"table": "accuracy per class"},
        ),
        json="results/tables/accuracy.json",
        gap=seed_gap_tables(),
        gap_html=seed_gap_report(),
        confusion=report(
            expand("results/plots/accuracy/confusion_{column}.png", column=accuracy_columns()),
            caption="../report/confusion.rst",
            category="Accuracy",
            subcategory="Confusion matrices",
        ),
    params:
        scored=accuracy_arguments(),
        bootstrap=config["analysis"]["bootstrap"],
        seed=config["seed"],
        gap="--gap results/tables/seed_gap" if seed_gap_outputs() else "",
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/accuracy.log",
    shell:
        "python -m analysis accuracy --events {input.events:q} {params.scored}"
        " --bootstrap {params.bootstrap} --seed {params.seed} --out results/tables/accuracy"
        " {params.gap} --plots results/plots/accuracy > {log} 2>&1"


# The first training seed's predictions (the value the accuracy table gives).
rule accuracy_by_energy:
    input:
        events=shard_files("test"),
        predictions=accuracy_predictions(training_seeds()[:1]),
    output:
        multiext("results/tables/accuracy_by_energy_{cls}", ".csv", ".md", ".tex"),
        html=report(
            "results/tables/accuracy_by_energy_{cls}.html",
            caption="../report/accuracy_by_energy.rst",
            category="Accuracy",
            subcategory="Tables",
            labels={"table": "accuracy by electron energy", "class": "{cls}"},
        ),
    wildcard_constraints:
        cls="delta|michel",
    params:
        scored=first_seed_accuracy_arguments(),
        bootstrap=config["analysis"]["bootstrap"],
        seed=config["seed"],
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/accuracy_by_energy_{cls}.log",
    shell:
        "python -m analysis accuracy-by-energy --class {wildcards.cls} --events {input.events:q}"
        " {params.scored} --bootstrap {params.bootstrap} --seed {params.seed}"
        " --out results/tables/accuracy_by_energy_{wildcards.cls}"
        " > {log} 2>&1"


rule training_curves:
    input:
        [f"results/train/{run_dir(v, s)}/log.csv" for v, s in trained_runs()],
    output:
        report(
            "results/plots/training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
            subcategory="Curves",
            labels={"figure": "training curves"},
        ),
    params:
        logs=curves_arguments(),
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/training_curves.log",
    shell:
        "python -m analysis curves {params.logs} --out {output} > {log} 2>&1"


rule michel_calibration:
    input:
        shard_files("train"),
    output:
        "results/michel/calibration.json",
    threads: config["analysis"]["threads"]
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/michel/calibration.log",
    shell:
        "python -m analysis michel-calibration --events {input:q} --threads {threads}"
        " --out {output} > {log} 2>&1"


# One run per training (wildcard variant = VARIANT/seed-SEED) and one on the true labels (truth).
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
        **michel_figure_outputs(),
    wildcard_constraints:
        variant=r"truth|[A-Za-z_]\w*/seed-\d+",
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
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/michel/{variant}.log",
    shell:
        "python -m analysis michel --events {input.events:q} {params.source} {params.calibration}"
        " --bootstrap {params.bootstrap} --seed {params.seed}"
        " --variant {wildcards.variant} --threads {threads}"
        " --out results/michel/{wildcards.variant} > {log} 2>&1"


rule michel_table:
    input:
        [f"results/michel/{run}/metrics.json" for run in michel_runs()],
    output:
        multiext("results/tables/michel", ".csv", ".md", ".tex"),
        html=report(
            "results/tables/michel.html",
            caption="../report/michel_table.rst",
            category="Michel",
            subcategory="Tables",
            labels={"table": "purity and efficiency"},
        ),
    params:
        metrics=michel_table_arguments(),
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/michel_table.log",
    shell:
        "python -m analysis michel-table --metrics {params.metrics} --out results/tables/michel > {log} 2>&1"


rule training_log:
    input:
        "results/train/{variant}/seed-{seed}/log.csv",
    output:
        report(
            "results/report/training/{variant}/seed-{seed}_log.csv",
            caption="../report/training_log.rst",
            category="Training",
            subcategory="Logs",
            labels={"log": "training", "variant": "{variant}", "seed": "{seed}"},
        ),
    wildcard_constraints:
        seed=r"\d+",
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/report/training/{variant}/seed-{seed}.log",
    shell:
        "cp {input} {output} 2> {log}"
