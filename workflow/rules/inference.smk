# Inference: predictions of every trained model on every test shard (docs/event-format.md).


rule infer:
    input:
        model="results/train/{variant}/model.pt",
        events="data/test/{shard}.root",
    output:
        "results/predictions/{variant}/{shard}.root",
    wildcard_constraints:
        shard=r"\d+",
    params:
        batch=config["inference"]["batch_size"],
        symmetries=config["inference"]["symmetries"],
    threads: config["inference"]["threads"]
    resources:
        gpu=1 if config["inference"]["gpu"] else 0,
    log:
        "logs/infer/{variant}/{shard}.log",
    benchmark:
        "benchmarks/infer/{variant}/{shard}.tsv"
    shell:
        "{PY} lartpc_seg infer --model {input.model} --events {input.events}"
        " --batch-size {params.batch} --symmetries {params.symmetries} --threads {threads}"
        " --out {output} > {log} 2>&1"


def predictions(variant):
    return [f"results/predictions/{variant}/{i}.root" for i in range(n_shards("test"))]
