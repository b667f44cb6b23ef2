# Helpers shared by the rule files: shard lists, seeds, command prefixes.

import json
import math
import shlex
import sys

SPLITS = ["train", "val", "test"]
SPLIT_SEED_OFFSET = {"train": 0, "val": 1_000_000, "test": 2_000_000}
#: The Python that runs Snakemake runs the rules too (the project's .venv under `make run`).
PY = f"{shlex.quote(sys.executable)} -m"


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


def variants():
    return list(config["train"]["variants"])


def quoted_json(obj):
    """A JSON object as one shell word."""
    return "'" + json.dumps(obj).replace("'", "'\\''") + "'"
