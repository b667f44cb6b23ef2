# Dataset stage: simulate (default) or download + import the open data, then draw displays.


def shard_range(split, shard):
    """First event number and number of events of a simulated shard."""
    ds = config["dataset"]
    first = int(shard) * ds["shard_events"]
    return first, min(ds["shard_events"], ds["events"][split] - first)


def osf_file(split, shard):
    files = [f for f in config["dataset"]["osf"]["files"] if f["split"] == split]
    return files[int(shard)]


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
        log:
            "logs/simulate/{split}/{shard}.log",
        shell:
            "{PY} lartpc_seg simulate --events {params.events} --first-event {params.first}"
            " --seed {params.seed} --grid {params.grid} --params {params.simulation}"
            " --out {output} > {log} 2>&1"

elif config["dataset"]["source"] == "pilarnet-m":

    include: "pilarnet.smk"

else:

    rule download:
        output:
            "data/raw/{split}/{shard}.root",
        wildcard_constraints:
            split="train|val|test",
            shard=r"\d+",
        params:
            url=lambda w: osf_file(w.split, w.shard)["url"],
            sha256=lambda w: osf_file(w.split, w.shard)["sha256"],
        log:
            "logs/download/{split}/{shard}.log",
        retries: 2
        shell:
            "{PY} lartpc_seg download {params.url} --sha256 {params.sha256} --out {output}"
            " > {log} 2>&1"

    rule import_larcv:
        input:
            "data/raw/{split}/{shard}.root",
        output:
            "data/{split}/{shard}.root",
        params:
            grid=config["dataset"]["grid"],
            labels=config["dataset"]["osf"]["labels"],
        log:
            "logs/import/{split}/{shard}.log",
        shell:
            "{PY} lartpc_seg import-larcv {input} --grid {params.grid} --labels {params.labels}"
            " --out {output} > {log} 2>&1"


rule validate_split:
    input:
        lambda w: shard_files(w.split),
    output:
        "results/validation/{split}.txt",
    log:
        "logs/validate/{split}.log",
    shell:
        "{PY} lartpc_seg validate {input} > {log} 2>&1 && cp {log} {output}"


rule dataset_summary:
    input:
        train=shard_files("train"),
        val=shard_files("val"),
        test=shard_files("test"),
    output:
        report(
            multiext("results/tables/dataset", ".csv", ".md", ".tex"),
            caption="../report/dataset_table.rst",
            category="Dataset",
        ),
        json="results/tables/dataset.json",
        plot=report(
            "results/plots/dataset/class_fractions.png",
            caption="../report/class_fractions.rst",
            category="Dataset",
        ),
    params:
        splits=" ".join(f"--split {s}=" + ",".join(shard_files(s)) for s in SPLITS),
    log:
        "logs/dataset_summary.log",
    shell:
        "{PY} analysis dataset-summary {params.splits} --out results/tables/dataset"
        " --plots results/plots/dataset > {log} 2>&1"


rule event_display:
    input:
        "data/test/0.root",
    output:
        report(
            "results/plots/events/event_{k}.png",
            caption="../report/event_display.rst",
            category="Dataset",
        ),
    log:
        "logs/display/event_{k}.log",
    shell:
        "{PY} lartpc_seg display {input} --event {wildcards.k} --out {output} > {log} 2>&1"


def dataset_outputs():
    return [
        *[f"results/validation/{s}.txt" for s in SPLITS],
        "results/tables/dataset.csv",
        *[f"results/plots/events/event_{k}.png" for k in range(config["dataset"]["displays"])],
    ]
