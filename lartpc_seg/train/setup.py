"""What determines a training's result: its options, data, labels, model and seed (fingerprint)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lartpc_seg.io.digest import file_sha256
from lartpc_seg.models import UResNetConfig
from lartpc_seg.train.schedule import SCHEDULES


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
        How the rate evolves after the warm-up (study.md §3 uses a constant rate; a cosine decay
        to zero converges in fewer steps), see :func:`~lartpc_seg.train.schedule.learning_rate`.
    warmup : int
        Steps of linear warm-up of the learning rate.
    augment : bool
        Random 90° rotations and flips of each training event.
    validate_every, checkpoint_every, log_every : int
        Intervals, in steps.
    val_events : int
        Validation events used at each validation.
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
    threads: int = 1
    gpu: bool = False

    def __post_init__(self) -> None:
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


#: The options that always change the sequence of weights (see :meth:`TrainOptions.trajectory`).
TRAJECTORY_OPTIONS = ("batch_size", "global_batch", "lr", "lr_schedule", "warmup", "augment")


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

    def fingerprint(self) -> str:
        """A digest of the setup: a checkpoint resumes only a training with the same one."""
        d = {
            "train": self.train_digests,
            "labels": self.labels,
            "class_weights": self.class_weights,
            "model": asdict(self.model),
            "options": self.options.trajectory(),
            "seed": self.seed,
        }
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def digest_files(paths: Sequence[str | Path]) -> dict[str, str]:
    """SHA-256 of each file, keyed by its path as given."""
    return {str(p): file_sha256(p) for p in paths}
