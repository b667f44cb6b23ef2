# Dataset stage: simulate (default) or download + import the open data, then draw displays.


if config["dataset"]["source"] == "simulate":

    rule simulate:
        output:
            "data/{split}/{shard}.root",
        wildcard_constraints:
            split="train|val|test",
            shard=r"\d+",
        params:
            first=lambda w: shard_range(w.split, w.shard)[0],
            events=lambda w: shard_range(w.split, w.shard)[1],
            seed=lambda w: config["seed"] + SPLIT_SEED_OFFSET[w.split],
            grid=config["dataset"]["grid"],
            simulation=quoted_json(config["dataset"]["simulation"]),
        conda:
            CONDA_ENV
        container:
            CONTAINER
        log:
            "logs/simulate/{split}/{shard}.log",
        shell:
            "python -m lartpc_seg simulate --events {params.events} --first-event {params.first}"
            " --seed {params.seed} --grid {params.grid} --params {params.simulation}"
            " --out {output} > {log} 2>&1"

elif config["dataset"]["source"] == "pilarnet-m":

    include: "pilarnet.smk"

else:
    # One line before the plan when the config still carries all-zero digests (paper.yaml).
    if placeholder_digest_warning():
        print(placeholder_digest_warning(), file=sys.stderr)

    rule download:
        output:
            file="data/raw/{split}/{shard}.root",
            record="data/raw/{split}/{shard}.json",
        wildcard_constraints:
            split="train|val|test",
            shard=r"\d+",
        params:
            url=lambda w: osf_file(w.split, w.shard)["url"],
            check=lambda w: download_check(w.split, w.shard),
        conda:
            CONDA_ENV
        container:
            CONTAINER
        log:
            "logs/download/{split}/{shard}.log",
        retries: 2
        shell:
            "python -m lartpc_seg download {params.url} {params.check} --out {output.file}"
            " --record {output.record} > {log} 2>&1"

    rule import_larcv:
        input:
            file="data/raw/{split}/{shard}.root",
            record="data/raw/{split}/{shard}.json",
        output:
            "data/{split}/{shard}.root",
        params:
            grid=config["dataset"]["grid"],
            labels=config["dataset"]["osf"]["labels"],
        conda:
            CONDA_ENV
        container:
            CONTAINER
        log:
            "logs/import/{split}/{shard}.log",
        shell:
            "python -m lartpc_seg import-larcv {input.file} --provenance {input.record}"
            " --grid {params.grid} --labels {params.labels} --out {output} > {log} 2>&1"


rule validate_split:
    input:
        lambda w: shard_files(w.split),
    output:
        "results/validation/{split}.txt",
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/validate/{split}.log",
    shell:
        "python -m lartpc_seg validate {input} > {log} 2>&1 && cp {log} {output}"


rule dataset_summary:
    input:
        train=shard_files("train"),
        val=shard_files("val"),
        test=shard_files("test"),
    output:
        multiext("results/tables/dataset", ".csv", ".md", ".tex"),
        html=report(
            "results/tables/dataset.html",
            caption="../report/dataset_table.rst",
            category="Dataset",
            subcategory="Summary",
            labels={"table": "dataset summary"},
        ),
        json="results/tables/dataset.json",
        plot=report(
            "results/plots/dataset/class_fractions.png",
            caption="../report/class_fractions.rst",
            category="Dataset",
            subcategory="Summary",
            labels={"figure": "class fractions"},
        ),
    params:
        splits=" ".join(f"--split {s}=" + ",".join(shard_files(s)) for s in SPLITS),
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/dataset_summary.log",
    shell:
        "python -m analysis dataset-summary {params.splits} --out results/tables/dataset"
        " --plots results/plots/dataset > {log} 2>&1"


rule event_display:
    input:
        "data/test/0.root",
    output:
        report(
            "results/plots/events/event_{k}.png",
            caption="../report/event_display.rst",
            category="Dataset",
            subcategory="Event displays",
            labels={"event": "{k}"},
        ),
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/display/event_{k}.log",
    shell:
        "python -m lartpc_seg display {input} --event {wildcards.k} --out {output} > {log} 2>&1"
