"""What determines a training's result: its options, data, labels, model and seed (fingerprint)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lartpc_seg.io.digest import file_sha256
from lartpc_seg.models import UResNetConfig
from lartpc_seg.train.schedule import SCHEDULES
from lartpc_seg.version import code_version, source_digest


@dataclass
class TrainOptions:
    """Options of one training (the config's ``train`` section without ``variants``).

    Attributes
    ----------
    iterations : int
        Optimiser steps.
    batch_size : int
        Events per step on one worker.
    global_batch : int or None
        Events per step over all workers; ``batch_size × workers`` when None.
    workers : int
        Data-parallel workers (informational here; the launcher sets the world size).
    lr : float
        Adam (peak) learning rate.
    lr_schedule : {"constant", "cosine"}
        How the rate evolves after the warm-up (docs/study.md §3 uses a constant rate; a cosine
        decay to zero converges in fewer steps), see
        :func:`~lartpc_seg.train.schedule.learning_rate`.
    warmup : int
        Steps of linear warm-up of the learning rate.
    augment : bool
        Random 90° rotations and flips of each training event.
    validate_every, checkpoint_every, log_every : int
        Intervals, in steps.
    val_events : int
        Validation events used at each validation.
    focal_gamma : float
        Focal-loss exponent of the segmentation loss (0: cross-entropy), see
        :func:`~lartpc_seg.train.loss.segmentation_loss`.
    threads : int
        CPU threads of each worker.
    gpu : bool
        Whether the executor was asked for a GPU (the device is chosen by availability).
    """

    iterations: int = 1500
    batch_size: int = 4
    global_batch: int | None = None
    workers: int = 1
    lr: float = 1e-3
    lr_schedule: str = "constant"
    warmup: int = 0
    augment: bool = True
    validate_every: int = 250
    checkpoint_every: int = 250
    log_every: int = 25
    val_events: int = 100
    focal_gamma: float = 0.0
    threads: int = 1
    gpu: bool = False

    def __post_init__(self) -> None:
        for name, low in _OPTION_MINIMUM.items():
            value = getattr(self, name)
            if name == "global_batch" and value is None:
                continue
            real = name in _REAL_OPTIONS
            kind = "a number" if real else "an integer"
            if isinstance(value, str):
                raise ValueError(
                    f"training option '{name}' must be {kind}, got the string {value!r} "
                    "(write it without quotes; in YAML a float needs a dot: 1.0e-3, not 1e-3)"
                )
            ok = isinstance(value, (int, float)) if real else isinstance(value, int)
            if not ok or isinstance(value, bool):
                raise ValueError(f"training option '{name}' must be {kind}, got {value!r}")
            if real and not math.isfinite(value):
                raise ValueError(f"training option '{name}' must be a finite number, got {value!r}")
            if name == "lr" and not value > 0:
                raise ValueError(f"training option 'lr' must be a number > 0, got {value!r}")
            if value < low:
                raise ValueError(f"training option '{name}' must be at least {low}, got {value}")
        for name in ("augment", "gpu"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"training option '{name}' must be true or false, got {getattr(self, name)!r}"
                )
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}; known: {list(SCHEDULES)}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainOptions:
        """Build from a mapping, naming any unknown key."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown training option(s) {unknown}; known: {sorted(known)}")
        return cls(**d)

    def trajectory(self) -> dict[str, Any]:
        """The options that change the sequence of weights (part of the fingerprint).

        The others (intervals, threads and, with a constant rate, ``iterations``) do not, so a
        training can be resumed and extended across changes of them. A decaying schedule
        depends on the total number of steps, which then belongs to the trajectory.
        """
        keys = list(TRAJECTORY_OPTIONS)
        if self.lr_schedule != "constant":
            keys.append("iterations")
        return {k: getattr(self, k) for k in keys}


#: Smallest value of each numeric training option (``lr`` must be greater than 0).
_OPTION_MINIMUM = {
    "iterations": 1,
    "batch_size": 1,
    "global_batch": 1,
    "workers": 1,
    "lr": 0,
    "warmup": 0,
    "validate_every": 1,
    "checkpoint_every": 1,
    "log_every": 1,
    "val_events": 1,
    "threads": 1,
    "focal_gamma": 0,
}

#: The numeric training options that take real values; the others are integers.
_REAL_OPTIONS = ("lr", "focal_gamma")

#: The options that always change the sequence of weights (see :meth:`TrainOptions.trajectory`).
TRAJECTORY_OPTIONS = (
    "batch_size",
    "global_batch",
    "lr",
    "lr_schedule",
    "warmup",
    "augment",
    "focal_gamma",
)


@dataclass
class TrainSetup:
    """Everything that determines a training's result (its fingerprint)."""

    train_files: list[str]
    val_files: list[str]
    labels: str
    class_weights: bool
    model: UResNetConfig
    options: TrainOptions
    seed: int
    train_digests: dict[str, str] = field(default_factory=dict)
    class_weight_power: float = 1.0

    def __post_init__(self) -> None:
        power = self.class_weight_power
        number = isinstance(power, (int, float)) and not isinstance(power, bool)
        if not (number and math.isfinite(power) and power > 0):
            raise ValueError(f"class_weight_power must be a finite number > 0, got {power!r}")

    def _power(self) -> float | None:
        """The class weights' exponent, None without class weights (where it changes nothing)."""
        return float(self.class_weight_power) if self.class_weights else None

    def data_digests(self) -> list[str]:
        """The training files' digests in order: the data, however its paths are spelt."""
        return [self.train_digests[str(p)] for p in self.train_files]

    def differences(self, state: dict[str, Any]) -> list[str]:
        """What about ``state`` (a checkpoint) differs from this setup or code; empty if nothing."""
        if state.get("code_sha256") != source_digest():
            return [
                f"written by code {state.get('code_version', 'of unknown version')} "
                f"(source {str(state.get('code_sha256', '?'))[:12]}), now {code_version()} "
                f"(source {source_digest()[:12]})"
            ]
        mine = {
            "training data": self.data_digests(),
            "labels": self.labels,
            "class_weights": self.class_weights,
            "class_weight_power": self._power(),
            "model_config": asdict(self.model),
            "options": self.options.trajectory(),
            "seed": self.seed,
        }
        theirs = {
            "training data": state.get("train_digests"),
            "labels": state.get("labels"),
            "class_weights": state.get("class_weights"),
            "class_weight_power": (
                state.get("class_weight_power", 1.0) if state.get("class_weights") else None
            ),
            "model_config": state.get("model_config"),
            "options": _trajectory_of(state.get("options")),
            "seed": state.get("seed"),
        }
        differences = [f"other {k}" for k in mine if mine[k] != theirs[k]]
        if not differences and state["fingerprint"] != self.fingerprint():
            differences.append("another setup")
        if int(state["iteration"]) > self.options.iterations:
            differences.append(
                f"iteration {state['iteration']} is beyond the {self.options.iterations} asked"
            )
        return differences

    def fingerprint(self) -> str:
        """A digest of the setup: a checkpoint resumes only a training with the same one."""
        d = {
            "train": self.data_digests(),
            "labels": self.labels,
            "class_weights": self.class_weights,
            "class_weight_power": self._power(),
            "model": asdict(self.model),
            "options": self.options.trajectory(),
            "seed": self.seed,
        }
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def _trajectory_of(options: object) -> dict[str, Any] | None:
    """The trajectory options of a checkpoint's recorded options (None if unreadable)."""
    if not isinstance(options, dict):
        return None
    try:
        return TrainOptions.from_dict(options).trajectory()
    except (TypeError, ValueError):
        return None


def digest_files(paths: Sequence[str | Path]) -> dict[str, str]:
    """SHA-256 of each file, keyed by its path as given."""
    return {str(p): file_sha256(p) for p in paths}
