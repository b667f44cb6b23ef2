"""The workflow configuration, checked before any job runs: one line naming the file and key.

The Snakefile calls :func:`check_workflow_config` after loading its config files. Checked, in
order: each file parses as YAML and defines no key twice (YAML keeps only the last of two
blocks); the merged configuration meets ``workflow/schemas/config.schema.yaml``; and the values
agree with each other and with the simulator (unknown or out-of-range ``dataset.simulation``
keys, a grid too small for the stopping-muon margin, variant names that are not identifiers, a
training seed listed twice, a global batch that the workers cannot share). ``train.seeds``
defaults to ``[seed]``, the top-level seed. Each problem is reported with the file that set
the key, so a user with several ``--configfile`` layers knows which one to edit.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration mistake: the file (or ``--config``), the key and what is wrong."""

    def __init__(self, source: str, key: str | None, message: str) -> None:
        self.source = source
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.message}"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep=False):
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key '{key}' is defined twice (lines {seen[key]} and {line}); YAML would "
                "silently keep only the second: merge the two",
                key_node.start_mark,
            )
        seen[key] = line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read one YAML (or JSON) config file, refusing duplicated keys and non-mappings."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(str(path), None, f"cannot be read ({err.strerror})") from err
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        problem = err.problem if err.problem else str(err)
        raise ConfigError(str(path), None, f"{where}: {problem}") from err
    except yaml.YAMLError as err:
        raise ConfigError(str(path), None, f"not valid YAML ({err})") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), None, "must be a mapping of keys to values at its top level")
    return data


def _has(config: Mapping, path: Sequence[object]) -> bool:
    node: object = config
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return False
        node = node[key]
    return True


def source_of(path: Sequence[object], layers: Sequence[tuple[str, Mapping]]) -> str:
    """The last layer (file or ``--config``) that sets ``path``, or its nearest parent."""
    for depth in range(len(path), 0, -1):
        for name, config in reversed(layers):
            if _has(config, path[:depth]):
                return name
    return layers[-1][0] if layers else "the configuration"


def _number_hint(value: object) -> str:
    """Why a number may have been read as text, when it was."""
    if not isinstance(value, str):
        return ""
    try:
        float(value)
    except ValueError:
        return ""
    return (
        " (a number read as text: remove the quotes; YAML reads 1e-3 as text, 1.0e-3 as a number)"
    )


def schema_problem(config: Mapping, schema: Mapping) -> tuple[list[object], str] | None:
    """The most relevant schema violation of ``config``: (key path, message), or None."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is None:
        return None
    path = list(error.absolute_path)
    message = error.message
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = list(error.schema.get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        if extra:
            path.append(extra[0])
            close = difflib.get_close_matches(str(extra[0]), allowed, n=1)
            message = f"'{extra[0]}' was unexpected" + (
                f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(allowed)})"
            )
    if error.validator == "type":
        message += _number_hint(error.instance)
    if error.validator == "propertyNames":
        message = f"{error.instance!r} is not a valid name here ({error.message})"
    return path, message


def _dotted(path: Sequence[object]) -> str:
    return ".".join(str(p) for p in path)


def simulation_problem(simulation: Mapping, grid: int) -> tuple[list[str], str] | None:
    """A problem of ``dataset.simulation`` under ``dataset.grid``: (key path, message) or None.

    Unknown keys (with the closest known one), values the simulator refuses, and a
    stopping-muon margin that leaves stopping muons no room (no Michel electrons at all).
    """
    from lartpc_seg.simulation.config import SimulationConfig

    known = [f.name for f in dataclasses.fields(SimulationConfig)]
    for key in simulation:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            return ["dataset", "simulation", key], f"unknown simulator option{hint}"
    try:
        sim = SimulationConfig.from_dict({**simulation, "grid": grid})
    except (TypeError, ValueError) as err:
        return ["dataset", "simulation"], str(err)
    if sim.stopping_muons[1] > 0 and sim.grid <= 2 * sim.stopping_muon_margin_vox:
        return (
            ["dataset", "simulation", "stopping_muon_margin_vox"],
            f"{sim.stopping_muon_margin_vox:g} voxels from each face leaves stopping muons no "
            f"room in a grid of {sim.grid} (needs grid > 2 x margin): the dataset would have "
            "no Michel electrons; lower the margin or raise dataset.grid",
        )
    return None


#: dataset.source → the section listing its files (each with a split).
OPEN_DATA_SECTIONS = {"osf": "osf", "pilarnet-m": "pilarnet"}


def consistency_problem(config: Mapping) -> tuple[list[str], str] | None:
    """A contradiction between fields of a schema-valid configuration (defaults applied)."""
    for name in config["train"]["variants"]:
        if not str(name).isidentifier():
            return (
                ["train", "variants", name],
                f"variant name {name!r} is not an identifier (letters, digits and _, not "
                "starting with a digit): it names folders, rules and table columns",
            )
    for name, spec in config["train"]["variants"].items():
        if "class_weight_power" in spec and not spec.get("class_weights"):
            return (
                ["train", "variants", name, "class_weight_power"],
                "is set but class_weights is false: the power applies to the class weights, "
                "so set class_weights: true or remove it",
            )
    train = config["train"]
    seeds = train.get("seeds", [])
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        return (
            ["train", "seeds"],
            f"seed {repeated[0]} is listed more than once in {seeds}: each seed names one "
            "training of every variant, so the seeds must be distinct",
        )
    if train.get("global_batch") is not None and train["global_batch"] % train["workers"]:
        return (
            ["train", "global_batch"],
            f"{train['global_batch']} events per step cannot be shared by "
            f"{train['workers']} workers (train.workers): make it a multiple",
        )
    dataset = config["dataset"]
    if dataset["source"] == "simulate":
        return simulation_problem(dataset.get("simulation", {}), dataset["grid"])
    section = OPEN_DATA_SECTIONS.get(dataset["source"])
    if section is not None:
        splits = {f["split"] for f in dataset.get(section, {}).get("files", [])}
        missing = [s for s in ("train", "val", "test") if s not in splits]
        if missing:
            message = f"no file for split {', '.join(missing)} (source {dataset['source']})"
            return ["dataset", section, "files"], message
    return None


def check_workflow_config(
    config: dict,
    files: Sequence[str | Path],
    overrides: Mapping | None,
    schema_path: str | Path,
) -> None:
    """Refuse a bad workflow configuration before any job runs.

    Parameters
    ----------
    config : dict
        The configuration Snakemake merged (it is given the schema's defaults on success).
    files : sequence of path
        The config files in the order they were applied (later ones override).
    overrides : mapping or None
        The ``--config KEY=VALUE`` values, applied last.
    schema_path : path
        The JSON schema (YAML) of the configuration.

    Raises
    ------
    ConfigError
        Naming the file (or ``--config``) that set the offending key, the key and the problem.
    """
    from snakemake.utils import validate

    layers = [(str(f), load_config_file(f)) for f in files]
    if overrides:
        layers.append(("--config", dict(overrides)))
    schema = yaml.safe_load(Path(schema_path).read_text())
    problem = schema_problem(config, schema)
    if problem is None:
        validate(config, str(schema_path))  # sets the defaults
        # the one default the schema cannot express: it names another key
        config["train"].setdefault("seeds", [config["seed"]])
        problem = consistency_problem(config)
    if problem is not None:
        path, message = problem
        raise ConfigError(source_of(path, layers), _dotted(path) or None, message)


def check_snakemake_config(workflow: Any, config: dict, schema_path: str | Path) -> None:
    """:func:`check_workflow_config` for the Snakefile: its files in the order Snakemake applied.

    The Snakefile's own ``configfile:`` comes first, then every ``--configfile``, then
    ``--config``.
    """
    given = [Path(f).absolute() for f in workflow.overwrite_configfiles]
    own = [f for f in workflow.configfiles if Path(f).absolute() not in given]
    check_workflow_config(config, [*own, *given], workflow.config_settings.config, schema_path)
