# Inference: predictions of every trained model (variant and training seed) on every test shard
# (docs/event-format.md).


rule infer:
    input:
        model="results/train/{variant}/seed-{seed}/model.pt",
        events="data/test/{shard}.root",
    output:
        "results/predictions/{variant}/seed-{seed}/{shard}.root",
    wildcard_constraints:
        seed=r"\d+",
        shard=r"\d+",
    params:
        batch=config["inference"]["batch_size"],
        symmetries=config["inference"]["symmetries"],
    threads: config["inference"]["threads"]
    resources:
        gpu=1 if config["inference"]["gpu"] else 0,
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/infer/{variant}/seed-{seed}/{shard}.log",
    benchmark:
        "benchmarks/infer/{variant}/seed-{seed}/{shard}.tsv"
    shell:
        "python -m lartpc_seg infer --model {input.model} --events {input.events}"
        " --batch-size {params.batch} --symmetries {params.symmetries} --threads {threads}"
        " --out {output} > {log} 2>&1"
