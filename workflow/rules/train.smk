# Training: one U-ResNet per variant (regular labels, relabeled labels, relabeled + weights) and
# training seed (train.seeds), in results/train/VARIANT/seed-SEED/.
# train.workers > 1 launches torchrun on this node (data parallel, NCCL on GPUs, gloo on CPUs);
# multi-node training is launched by hand (docs/distributed.md).


rule train:
    input:
        train=shard_files("train"),
        val=shard_files("val"),
        validated=["results/validation/train.txt", "results/validation/val.txt"],
    output:
        model="results/train/{variant}/seed-{seed}/model.pt",
        log_csv="results/train/{variant}/seed-{seed}/log.csv",
    wildcard_constraints:
        seed=r"\d+",
    params:
        labels=lambda w: config["train"]["variants"][w.variant]["labels"],
        weights=lambda w: class_weight_args(w.variant),
        model=quoted_json(config["model"]),
        train=quoted_json(train_options()),
        # per worker, from the job's threads (Snakemake lowers them to --cores if fewer)
        worker_threads=lambda w, threads: max(1, threads // config["train"]["workers"]),
        launcher=train_launcher(),
    # Training is the long pole of the DAG: start it before independent jobs (benchmark).
    priority: 10
    threads: lambda w: train_threads(w.variant)
    resources:
        gpu=train_gpus(),
    conda:
        CONDA_ENV
    container:
        CONTAINER
    log:
        "logs/train/{variant}/seed-{seed}.log",
    benchmark:
        "benchmarks/train/{variant}/seed-{seed}.tsv"
    shell:
        "{params.launcher} train --train {input.train:q} --val {input.val:q}"
        " --labels {params.labels} {params.weights} --model {params.model}"
        " --options {params.train} --seed {wildcards.seed} --threads {params.worker_threads}"
        " --workdir results/train/{wildcards.variant}/seed-{wildcards.seed} > {log} 2>&1"
