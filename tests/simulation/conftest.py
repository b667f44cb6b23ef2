"""Fixtures of the simulation tests: the default study's simulation configuration."""

from pathlib import Path

import pytest
import yaml

from lartpc_seg.simulation import SimulationConfig

CONFIG_YAML = Path(__file__).resolve().parents[2] / "config.yaml"


@pytest.fixture
def default_study_config() -> SimulationConfig:
    """The simulation configuration of the default study (``config.yaml``)."""
    dataset = yaml.safe_load(CONFIG_YAML.read_text())["dataset"]
    return SimulationConfig.from_dict({**dataset["simulation"], "grid": dataset["grid"]})
