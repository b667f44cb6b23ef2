# PILArNet-M (dataset.source = pilarnet-m): HDF5 files already on disk, each checked once against
# its SHA-256, then imported shard by shard (docs/open-data.md). Included by dataset.smk.

import sys
from pathlib import Path

PILARNET = config["dataset"]["pilarnet"]
#: The sha256 a config holds until the user pastes the file's real digest.
PLACEHOLDER_SHA256 = "0" * 64


def pilarnet_refusal():
    """One line naming what in dataset.pilarnet still has to be filled in, or None."""
    files = PILARNET["files"]
    if not files:
        return "dataset.pilarnet.files is empty: list the PILArNet-M files (docs/open-data.md)"
    for i, f in enumerate(files):
        where = f"dataset.pilarnet.files[{i}]"
        if f["sha256"] == PLACEHOLDER_SHA256:
            return (
                f"{where}.sha256 is still the placeholder: fill in each file's path and SHA-256 "
                f"(sha256sum FILE.h5) as docs/open-data.md says"
            )
        if not Path(f["path"]).is_file():
            return f"{where}.path: no file {f['path']} (download PILArNet-M first, docs/open-data.md)"
    missing = [s for s in SPLITS if not any(f["split"] == s for f in files)]
    if missing:
        return f"dataset.pilarnet.files: no file for split {', '.join(missing)}"
    return None


def pilarnet_shards(split):
    """(file index, first entry, events) of each shard of a split, in file order."""
    size = config["dataset"]["shard_events"]
    shards = []
    for i, f in enumerate(PILARNET["files"]):
        if f["split"] != split:
            continue
        first = f.get("first", 0)
        stop = first + f["events"]
        shards += [(i, lo, min(size, stop - lo)) for lo in range(first, stop, size)]
    return shards


def pilarnet_shard(w):
    return pilarnet_shards(w.split)[int(w.shard)]


def pilarnet_options():
    p = PILARNET
    return (
        f"--grid {config['dataset']['grid']} --low-energy {p['low_energy']}"
        f" --tracks {p['tracks']} --other-tracks {p['other_tracks']} --labels {p['labels']}"
        f" --voxel-label {p['voxel_label']} --energy-column {p['energy_column']}"
        f" --energy-threshold {p['energy_threshold']}"
    )


if (refusal := pilarnet_refusal()) is not None:
    sys.exit(f"error: {refusal}")


rule pilarnet_verify:
    input:
        lambda w: PILARNET["files"][int(w.index)]["path"],
    output:
        "data/raw/pilarnet/{index}.json",
    wildcard_constraints:
        index=r"\d+",
    params:
        sha256=lambda w: PILARNET["files"][int(w.index)]["sha256"],
    log:
        "logs/pilarnet/verify_{index}.log",
    shell:
        "{PY} lartpc_seg import-pilarnet {input:q} --sha256 {params.sha256} --verify-only"
        " --out {output} > {log} 2>&1"


rule import_pilarnet:
    input:
        h5=lambda w: PILARNET["files"][pilarnet_shard(w)[0]]["path"],
        verified=lambda w: f"data/raw/pilarnet/{pilarnet_shard(w)[0]}.json",
    output:
        "data/{split}/{shard}.root",
    wildcard_constraints:
        split="train|val|test",
        shard=r"\d+",
    params:
        first=lambda w: pilarnet_shard(w)[1],
        events=lambda w: pilarnet_shard(w)[2],
        options=pilarnet_options(),
    log:
        "logs/import/{split}/{shard}.log",
    shell:
        "{PY} lartpc_seg import-pilarnet {input.h5:q} --first {params.first}"
        " --events {params.events} {params.options} --out {output} > {log} 2>&1"
