# Helpers of the rule files, kept apart from them as `snakemake --lint` asks. The software
# environment, shard lists, seeds, argument strings, and the targets of the default target.

import json
import math
import os
import shlex
import sys

from analysis.accuracy.types import STUDY_COLUMNS

SPLITS = ["train", "val", "test"]
SPLIT_SEED_OFFSET = {"train": 0, "val": 1_000_000, "test": 2_000_000}

# The software every job runs with (docs/cluster.md). Jobs run `python -m lartpc_seg|analysis`
# - by default (no --software-deployment-method) `python` is the interpreter running Snakemake
#   (the .venv of the project under `make run`), whose directory goes first on the PATH of jobs;
# - with `--software-deployment-method conda` it is the env built from CONDA_ENV;
# - with `--software-deployment-method apptainer` it is the image CONTAINER, built from
#   workflow/containers/lartpc.def.
#: conda env file, relative to the rule files (workflow/rules/).
CONDA_ENV = "../envs/lartpc.yaml"
#: Apptainer image built from workflow/containers/lartpc.def.
CONTAINER = f"{workflow.basedir}/workflow/containers/lartpc.sif"
if not workflow.deployment_settings.deployment_method:
    os.environ.update(
        {"PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])}
    )


# --- dataset ---------------------------------------------------------------------------------


def n_shards(split):
    """Files of a split: simulated shards, or the open-data files listed for it."""
    ds = config["dataset"]
    if ds["source"] == "osf":
        return sum(1 for f in ds["osf"]["files"] if f["split"] == split)
    if ds["source"] == "pilarnet-m":
        return len(pilarnet_shards(split))
    return math.ceil(ds["events"][split] / ds["shard_events"])


def shard_files(split):
    return [f"data/{split}/{i}.root" for i in range(n_shards(split))]


def shard_range(split, shard):
    """First event number and number of events of a simulated shard."""
    ds = config["dataset"]
    first = int(shard) * ds["shard_events"]
    return first, min(ds["shard_events"], ds["events"][split] - first)


def osf_file(split, shard):
    files = [f for f in config["dataset"]["osf"]["files"] if f["split"] == split]
    return files[int(shard)]


PLACEHOLDER_SHA256 = "0" * 64


def placeholder_digest_warning():
    """One line saying the open-data digests are all-zero placeholders, or None.

    The download jobs refuse a placeholder (``lartpc_seg download``); this says so before the
    plan, since a dry run would otherwise list the jobs without a word.
    """
    osf = config["dataset"]["osf"]
    if not osf["verify"]:
        return None
    n = sum(f["sha256"].lower() == PLACEHOLDER_SHA256 for f in osf["files"])
    if n == 0:
        return None
    return (
        f"WARNING: {n} of {len(osf['files'])} sha256 digests in dataset.osf.files are all-zero "
        "placeholders; their downloads will be refused until you copy in the real digests "
        "(docs/open-data.md) or set dataset.osf.verify: false."
    )


def download_check(split, shard):
    """The download command's digest option: ``--sha256 HEX``, or ``--no-verify`` when the
    config opts out (dataset.osf.verify: false; the event files' meta records it)."""
    if not config["dataset"]["osf"]["verify"]:
        return "--no-verify"
    return f"--sha256 {osf_file(split, shard)['sha256']}"


def dataset_outputs():
    return [
        *[f"results/validation/{s}.txt" for s in SPLITS],
        "results/tables/dataset.html",
        *[f"results/plots/events/event_{k}.png" for k in range(config["dataset"]["displays"])],
    ]


# --- training --------------------------------------------------------------------------------


def variants():
    return list(config["train"]["variants"])


def training_seeds():
    """The training seeds (train.seeds; default [seed]); the first one is the tables' value."""
    return list(config["train"]["seeds"])


def trained_runs():
    """Every (variant, training seed) pair, variants first, then seeds in the configured order."""
    return [(v, s) for v in variants() for s in training_seeds()]


def run_dir(variant, seed):
    """The folder of one training under results/train, results/predictions, results/michel."""
    return f"{variant}/seed-{seed}"


def quoted_json(obj):
    """A JSON object as one shell word."""
    return shlex.quote(json.dumps(obj))


def train_threads(variant):
    """CPU threads of one training job: the variant's own count (or train.threads) per worker."""
    tr = config["train"]
    return tr["variants"][variant].get("threads", tr["threads"]) * tr["workers"]


def train_gpus():
    """One GPU per data-parallel worker when the config asks for GPUs."""
    tr = config["train"]
    return tr["workers"] if tr["gpu"] else 0


def train_launcher():
    """``python -m lartpc_seg``, under torchrun when train.workers > 1 (data parallel)."""
    workers = config["train"]["workers"]
    if workers > 1:
        return f"python -m torch.distributed.run --standalone --nproc-per-node {workers} -m lartpc_seg"
    return "python -m lartpc_seg"


def train_options():
    """The train section for ``lartpc_seg train --options``: without the variants and the seeds,
    which pick the job rather than configure it (adding a seed must not rerun the others)."""
    return {k: v for k, v in config["train"].items() if k not in ("variants", "seeds")}


def class_weight_args(variant):
    """The training command's class-weight flags of a variant (none without class weights; the
    power only when it is not the paper's 1, so that its absence changes no command line)."""
    spec = config["train"]["variants"][variant]
    if not spec.get("class_weights"):
        return ""
    power = spec.get("class_weight_power", 1)
    return "--class-weights" if power == 1 else f"--class-weights --class-weight-power {power}"


def training_outputs():
    return [f"results/train/{run_dir(v, s)}/model.pt" for v, s in trained_runs()]


# --- inference -------------------------------------------------------------------------------


def predictions(variant, seed):
    run = run_dir(variant, seed)
    return [f"results/predictions/{run}/{i}.root" for i in range(n_shards("test"))]


# --- analysis --------------------------------------------------------------------------------

def accuracy_columns():
    """The study's accuracy columns (column → (variant, true labels)) of the trained variants."""
    return {c: vl for c, vl in STUDY_COLUMNS.items() if vl[0] in config["train"]["variants"]}


def accuracy_variants():
    """Variants the accuracy table scores, in a fixed order (a set's order changes per process,
    and a changed order of the params would rerun the rule every time)."""
    return list(dict.fromkeys(v for v, _ in accuracy_columns().values()))


def accuracy_predictions(seeds=None):
    """Prediction files of every scored variant and training seed (default: all seeds)."""
    seeds = training_seeds() if seeds is None else seeds
    return [p for v in accuracy_variants() for s in seeds for p in predictions(v, s)]


def accuracy_column_arguments():
    """The ``--column`` options of the accuracy commands."""
    return " ".join(f"--column {c}={v}:{lab}" for c, (v, lab) in accuracy_columns().items())


def accuracy_arguments():
    """The ``--column`` and ``--predictions VARIANT@SEED=FILES`` options of the accuracy
    command, the seeds in the configured order (the first gives the tables' values)."""
    files = [
        f"--predictions {v}@{s}={','.join(predictions(v, s))}"
        for v in accuracy_variants()
        for s in training_seeds()
    ]
    return " ".join([accuracy_column_arguments(), *files])


def first_seed_accuracy_arguments():
    """``--column`` and ``--predictions VARIANT=FILES`` of the first training seed, for the
    accuracy-by-energy command (one set of predictions per variant)."""
    seed = training_seeds()[0]
    files = [f"--predictions {v}={','.join(predictions(v, seed))}" for v in accuracy_variants()]
    return " ".join([accuracy_column_arguments(), *files])


def seed_gap_outputs():
    """The per-seed Michel gap table, when both columns of the gap are scored."""
    if {"regular_regular", "relabeled_relabeled"} <= set(accuracy_columns()):
        return [f"results/tables/seed_gap.{ext}" for ext in ("csv", "md", "tex", "html")]
    return []


def seed_gap_tables():
    """The gap table's CSV, Markdown and LaTeX (its HTML goes to the report)."""
    return [p for p in seed_gap_outputs() if not p.endswith(".html")]


def seed_gap_report():
    """The gap table's HTML as a report entry, with its caption."""
    if not seed_gap_outputs():
        return []
    return report(
        "results/tables/seed_gap.html",
        caption="../report/seed_gap.rst",
        category="Accuracy",
        subcategory="Tables",
        labels={"table": "Michel gap per training seed"},
    )


#: Figures of the Michel command, each with its caption in workflow/report/<name>.rst.
MICHEL_FIGURES = {
    "michel_npix": "candidate vs true cluster voxels",
    "michel_energy_spectra": "energy spectra",
    "michel_energy_2d": "reconstructed vs true energy",
    "michel_resolution": "energy resolution",
    "michel_purity_efficiency": "purity and efficiency vs energy",
    "michel_energy_response": "energy response per bin",
}


def michel_figure_outputs():
    """Named outputs of the Michel rule: one report entry per figure, each with its caption,
    under the run (``VARIANT/seed-SEED`` or ``truth``) as subcategory."""
    return {
        name: report(
            f"results/michel/{{variant}}/{name}.png",
            caption=f"../report/{name}.rst",
            category="Michel",
            subcategory="{variant}",
            labels={"variant": "{variant}", "figure": figure},
        )
        for name, figure in MICHEL_FIGURES.items()
    }


def michel_runs():
    """The Michel rule's runs: ``VARIANT/seed-SEED`` of every training, then ``truth``."""
    return [run_dir(v, s) for v, s in trained_runs()] + ["truth"]


def michel_predictions(w):
    """The prediction files of a Michel run (``VARIANT/seed-SEED``; none for ``truth``)."""
    if w.variant == "truth":
        return []
    variant, _, folder = w.variant.partition("/")
    return predictions(variant, folder.removeprefix("seed-"))


def michel_table_arguments():
    """``VARIANT@SEED=metrics.json`` of every training, then ``truth=...``, for michel-table."""
    items = [f"{v}@{s}=results/michel/{run_dir(v, s)}/metrics.json" for v, s in trained_runs()]
    return " ".join([*items, "truth=results/michel/truth/metrics.json"])


def curves_arguments():
    """``--log VARIANT@SEED=log.csv`` of every training, for the training-curves figure."""
    return " ".join(
        f"--log {v}@{s}=results/train/{run_dir(v, s)}/log.csv" for v, s in trained_runs()
    )


def energy_table_runs():
    """Rows of the Michel energy table: each variant's first training seed, then ``truth``."""
    first = training_seeds()[0]
    return {**{v: run_dir(v, first) for v in variants()}, "truth": "truth"}


def calibration_shards():
    """Training shards the Michel energy calibration is fitted on: the last ones holding
    analysis.michel.calibration_events events (all when there are fewer)."""
    events = config["analysis"]["michel"]["calibration_events"]
    total = n_shards("train")
    wanted = min(total, max(1, math.ceil(events / config["dataset"]["shard_events"])))
    return list(range(total - wanted, total))


def calibration_events(w):
    return [f"data/train/{i}.root" for i in calibration_shards()]


def calibration_predictions(w):
    """The predictions of a Michel run (``VARIANT/seed-SEED``) on the calibration shards (none
    for ``truth``)."""
    if w.variant == "truth":
        return []
    return [f"results/calibration/{w.variant}/{i}.root" for i in calibration_shards()]


def analysis_outputs():
    return [
        "results/tables/accuracy.html",
        *expand("results/tables/accuracy_by_energy_{cls}.html", cls=["delta", "michel"]),
        "results/plots/training_curves.png",
        "results/tables/michel.html",
        *seed_gap_outputs(),
        "results/tables/michel_energy.html",
    ]


def report_outputs():
    """Files that exist only to put something into the HTML report."""
    return [f"results/report/training/{run_dir(v, s)}_log.csv" for v, s in trained_runs()]


# --- benchmark -------------------------------------------------------------------------------


def benchmark_outputs():
    return ["results/benchmark/engine.json"] if config["benchmark"]["enabled"] else []
