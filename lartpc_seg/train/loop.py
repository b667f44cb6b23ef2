"""The training loop: Adam, periodic validation, CSV log, checkpoints, resume, signals."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path, remove_stale_temporaries
from lartpc_seg.io.digest import file_sha256
from lartpc_seg.labels import NUM_CLASSES, Label
from lartpc_seg.models import UResNetConfig, build_uresnet
from lartpc_seg.progress import eta_seconds, format_duration
from lartpc_seg.train.checkpoint import load_checkpoint, save_checkpoint
from lartpc_seg.train.data import Batch, EventStore, augmentation_rngs, batch_indices
from lartpc_seg.train.loss import segmentation_loss
from lartpc_seg.train.schedule import SCHEDULES, learning_rate
from lartpc_seg.train.sync_batchnorm import convert_batchnorm
from lartpc_seg.version import code_version

#: Columns of the CSV training log (read by ``python -m analysis curves``).
LOG_COLUMNS = [
    "iteration",
    "phase",
    "loss",
    "acc_HIP",
    "acc_MIP",
    "acc_shower",
    "acc_delta",
    "acc_michel",
    "events_per_s",
]


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


class _StopRequest:
    """Turns SIGTERM/SIGINT into a flag checked between steps, so a checkpoint can be written."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: object) -> None:
        self.signum = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class TrainingInterrupted(Exception):
    """Training stopped by a signal after writing a checkpoint."""

    def __init__(self, signum: int, iteration: int) -> None:
        self.signum = signum
        self.iteration = iteration
        super().__init__(
            f"stopped by signal {signal.Signals(signum).name} at iteration {iteration}; "
            "checkpoint written, rerun to resume"
        )


class WorkerLost(Exception):
    """A collective failed: another worker died or hung (distributed training only)."""

    def __init__(
        self, rank: int, iteration: int, checkpoint: int | None, cause: BaseException
    ) -> None:
        self.rank = rank
        self.iteration = iteration
        self.checkpoint = checkpoint
        first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
        resume = (
            f"a rerun resumes from the checkpoint of iteration {checkpoint}"
            if checkpoint is not None
            else "no checkpoint written yet, a rerun starts from scratch"
        )
        super().__init__(
            f"worker {rank} lost contact with another worker at iteration {iteration + 1} "
            f"(another worker died or hung; see the launcher's report of the failed rank): "
            f"{type(cause).__name__}: {first_line}; {resume}"
        )


#: Words of the errors raised by gloo and NCCL when a peer is gone.
_COMMUNICATION_WORDS = ("gloo", "nccl", "connection", "peer", "timed out", "timeout")


def _communication_error(err: RuntimeError) -> bool:
    """Whether ``err`` comes from a failed collective rather than a bug of this process."""
    if isinstance(err, torch.distributed.DistError):
        return True
    text = str(err).lower()
    return any(word in text for word in _COMMUNICATION_WORDS)


def select_device(requested: str | None = None) -> torch.device:
    """CUDA when available (or requested), else the CPU."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Trainer:
    """One training run, resumable from ``workdir/checkpoints/last.pt``.

    Parameters
    ----------
    setup : TrainSetup
    workdir : Path
        Gets ``model.pt`` (final), ``log.csv`` (final copy of the log) and ``checkpoints/``.
    device : torch.device
    rank, world : int
        This worker and the number of data-parallel workers.
    """

    def __init__(
        self,
        setup: TrainSetup,
        workdir: str | Path,
        device: torch.device,
        *,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        self.setup = setup
        self.workdir = Path(workdir)
        self.device = device
        self.rank = rank
        self.world = world
        opts = setup.options
        self.global_batch = opts.global_batch or opts.batch_size * world
        if self.global_batch % world:
            raise InputError(
                None,
                f"global batch {self.global_batch} is not a multiple of {world} workers",
                field="train.global_batch",
            )
        self.checkpoint_path = self.workdir / "checkpoints" / "last.pt"
        self.running_log = self.workdir / "checkpoints" / "log.csv"

        torch.manual_seed(setup.seed)
        self.model = build_uresnet(setup.model).to(device)
        self.ddp_model: torch.nn.Module = self.model
        if world > 1:
            # BatchNorm statistics over the voxels of all workers (torch's SyncBatchNorm refuses
            # CPU tensors); running statistics then stay equal on every worker, so DDP need not
            # broadcast buffers.
            self.model = convert_batchnorm(self.model)
            self.ddp_model = torch.nn.parallel.DistributedDataParallel(
                self.model,
                device_ids=[device.index] if device.type == "cuda" else None,
                broadcast_buffers=False,
            )
        # the fused kernel updates every parameter in one pass (half the time of the per-tensor
        # loop on CPU for the U-ResNet's ~140 tensors)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=opts.lr, fused=True)
        self.iteration = 0
        #: Iteration of the last checkpoint written or resumed from (None: none yet).
        self.saved_iteration: int | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def _say(self, message: str) -> None:
        if self.is_main:
            print(message, flush=True)

    def resume(self) -> bool:
        """Load the last checkpoint if it belongs to this setup; returns whether it did.

        A checkpoint of another setup (other data, labels, model or options) is moved aside as
        ``last.pt.stale`` and training starts from scratch, saying so. An unreadable checkpoint
        raises :class:`InputError`.

        With several workers every worker reads the same file (rank 0 wrote it); they check
        that they agree on the iteration (a work directory not shared between nodes would make
        them disagree) before rank 0 may set a stale checkpoint aside.
        """
        if self.is_main:
            for path in (self.checkpoint_path, self.workdir / "model.pt"):
                for stale in remove_stale_temporaries(path):
                    self._say(f"removed {stale}, left by a run killed while writing")
        state = None
        if self.checkpoint_path.exists():
            state = load_checkpoint(self.checkpoint_path, map_location=self.device)
        usable = (
            state is not None
            and state["fingerprint"] == self.setup.fingerprint()
            and int(state["iteration"]) <= self.setup.options.iterations
        )
        low, high = self._min_max(int(state["iteration"]) if usable else -1)
        if low != high:
            raise InputError(
                self.checkpoint_path,
                f"workers found different checkpoints (iterations {low} to {high}; -1 = none "
                "usable): the work directory must be on a file system shared by every node",
            )
        if state is None:
            return False
        if not usable:
            if self.is_main:
                stale = self.checkpoint_path.with_suffix(".pt.stale")
                self.checkpoint_path.replace(stale)
                self._say(
                    f"checkpoint {self.checkpoint_path} was made with another setup (data, "
                    "labels, model or options) or went beyond the requested iterations; "
                    f"moved to {stale}, starting from scratch"
                )
            return False
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.iteration = int(state["iteration"])
        self.saved_iteration = self.iteration
        self._say(f"resumed from {self.checkpoint_path} at iteration {self.iteration}")
        return True

    def _state(self, kind: str) -> dict[str, Any]:
        return {
            "kind": kind,
            "iteration": self.iteration,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "fingerprint": self.setup.fingerprint(),
            "model_config": asdict(self.setup.model),
            "options": asdict(self.setup.options),
            "labels": self.setup.labels,
            "class_weights": self.setup.class_weights,
            "seed": self.setup.seed,
            "train_files": self.setup.train_digests,
            "code_version": code_version(),
            "torch_version": str(torch.__version__),
        }

    def save(self) -> None:
        """Write the checkpoint (rank 0 only) and truncate nothing: the log is already flushed."""
        if self.is_main:
            save_checkpoint(self.checkpoint_path, self._state("checkpoint"))
        self.saved_iteration = self.iteration

    def _open_log(self) -> None:
        """Keep the running log's rows up to the resumed iteration and append from there."""
        if not self.is_main:
            return
        rows: list[dict[str, str]] = []
        if self.iteration > 0 and self.running_log.exists():
            with open(self.running_log, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["iteration"]) <= self.iteration]
        self.running_log.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.running_log) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, LOG_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)

    def _log(self, phase: str, loss: float, acc: np.ndarray, rate: float) -> None:
        if not self.is_main:
            return
        row = [self.iteration, phase, f"{loss:.6g}", *(f"{a:.6g}" for a in acc), f"{rate:.4g}"]
        with open(self.running_log, "a", newline="") as f:
            csv.writer(f).writerow(row)

    def _min_max(self, value: int) -> tuple[int, int]:
        """Smallest and largest ``value`` over the workers (a barrier when ``world > 1``)."""
        if self.world == 1:
            return value, value
        t = torch.tensor([value, -value], dtype=torch.int64, device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return -int(t[1]), int(t[0])

    def _sync_metrics(
        self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor
    ) -> tuple[float, np.ndarray]:
        """The global batch's loss and class accuracies (one all-reduce over the workers)."""
        pred = logits.detach().argmax(dim=1)
        sums = torch.cat(
            [
                loss.detach().reshape(1).double() / self.world,
                torch.bincount(labels[pred == labels], minlength=NUM_CLASSES).double(),
                torch.bincount(labels, minlength=NUM_CLASSES).double(),
            ]
        )
        if self.world > 1:
            torch.distributed.all_reduce(sums)
        sums = sums.cpu().numpy()
        right, total = sums[1 : 1 + NUM_CLASSES], sums[1 + NUM_CLASSES :]
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = np.where(total > 0, right / np.maximum(total, 1), np.nan)
        return float(sums[0]), acc

    def step(self, batch: Batch) -> tuple[float, np.ndarray]:
        """One optimiser step on this worker's share of the global batch.

        Returns the loss and class accuracies of the whole global batch.
        """
        self.ddp_model.train()
        opts = self.setup.options
        rate = learning_rate(
            self.iteration,
            lr=opts.lr,
            schedule=opts.lr_schedule,
            iterations=opts.iterations,
            warmup=opts.warmup,
        )
        for group in self.optimizer.param_groups:
            group["lr"] = rate
        batch = batch.to(self.device)
        logits = self.ddp_model(batch.coords, batch.features)
        loss = segmentation_loss(
            logits,
            batch.labels,
            batch.coords[:, 0],
            batch.n_events,
            weighted=self.setup.class_weights,
        )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return self._sync_metrics(loss, logits, batch.labels)

    @torch.no_grad()
    def validate(self, store: EventStore, batch_size: int) -> tuple[float, np.ndarray]:
        """Loss (mean over events) and per-class accuracy (over voxels) on held-out events.

        With several workers each validates every ``world``-th event and the sums are
        all-reduced, so every worker returns the figures of the whole set.
        """
        self.model.eval()
        total_loss = 0.0
        right = np.zeros(NUM_CLASSES)
        count = np.zeros(NUM_CLASSES)
        mine = list(range(self.rank, len(store), self.world))
        for start in range(0, len(mine), batch_size):
            batch = store.batch(mine[start : start + batch_size]).to(self.device)
            logits = self.model(batch.coords, batch.features)
            loss = segmentation_loss(
                logits,
                batch.labels,
                batch.coords[:, 0],
                batch.n_events,
                weighted=self.setup.class_weights,
            )
            total_loss += float(loss) * batch.n_events
            pred = logits.argmax(dim=1)
            count += torch.bincount(batch.labels, minlength=NUM_CLASSES).cpu().numpy()
            right += (
                torch.bincount(batch.labels[pred == batch.labels], minlength=NUM_CLASSES)
                .cpu()
                .numpy()
            )
        if self.world > 1:
            sums = torch.tensor([total_loss, *right, *count], dtype=torch.float64)
            sums = sums.to(self.device)
            torch.distributed.all_reduce(sums)
            sums = sums.cpu().numpy()
            total_loss, right, count = sums[0], sums[1 : 1 + NUM_CLASSES], sums[1 + NUM_CLASSES :]
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = np.where(count > 0, right / np.maximum(count, 1), np.nan)
        return float(total_loss) / max(len(store), 1), acc

    def fit(self, train: EventStore, val: EventStore) -> None:
        """Train to ``options.iterations``, validating, logging and checkpointing on the way."""
        opts = self.setup.options
        self._open_log()
        # elapsed time and ETA of the log lines count from here (a resumed run: from its start)
        started, first_iteration = time.perf_counter(), self.iteration
        losses: list[float] = []
        accs: list[np.ndarray] = []
        tick = time.perf_counter()
        steps_since = 0
        with _StopRequest() as stop:
            try:
                while self.iteration < opts.iterations:
                    idx = batch_indices(
                        self.iteration,
                        len(train),
                        self.global_batch,
                        self.setup.seed,
                        self.rank,
                        self.world,
                    )
                    rngs = (
                        augmentation_rngs(
                            self.iteration,
                            self.global_batch,
                            self.setup.seed,
                            self.rank,
                            self.world,
                        )
                        if opts.augment
                        else None
                    )
                    loss, acc = self.step(train.batch(idx, rngs))
                    if not math.isfinite(loss):
                        raise FloatingPointError(f"loss is {loss} at iteration {self.iteration}")
                    self.iteration += 1
                    steps_since += 1
                    losses.append(loss)
                    accs.append(acc)
                    if self.iteration % opts.log_every == 0 or self.iteration == opts.iterations:
                        now = time.perf_counter()
                        rate = steps_since * self.global_batch / max(now - tick, 1e-9)
                        mean_acc = _nanmean_rows(np.stack(accs))
                        self._log("train", float(np.mean(losses)), mean_acc, rate)
                        elapsed = now - started
                        eta = eta_seconds(
                            self.iteration - first_iteration,
                            opts.iterations - first_iteration,
                            elapsed,
                        )
                        self._say(
                            f"iteration {self.iteration}/{opts.iterations} "
                            f"loss {np.mean(losses):.4f} "
                            + " ".join(f"{Label(c).name}={a:.3f}" for c, a in enumerate(mean_acc))
                            + f" {rate:.1f} events/s, elapsed {format_duration(elapsed)},"
                            f" ETA {format_duration(eta)}"
                        )
                        losses, accs = [], []
                        tick, steps_since = now, 0
                    if (
                        self.iteration % opts.validate_every == 0
                        or self.iteration == opts.iterations
                    ):
                        val_loss, val_acc = self.validate(val, opts.batch_size)
                        self._log("val", val_loss, val_acc, float("nan"))
                        self._say(
                            f"validation at {self.iteration}: loss {val_loss:.4f} "
                            + " ".join(f"{Label(c).name}={a:.3f}" for c, a in enumerate(val_acc))
                        )
                    if self.iteration % opts.checkpoint_every == 0:
                        self.save()
                    # Every worker stops at the same step, whichever got the signal.
                    signum = self._min_max(stop.signum or 0)[1]
                    if signum:
                        self.save()
                        raise TrainingInterrupted(signum, self.iteration)
            except RuntimeError as err:
                if self.world == 1 or not _communication_error(err):
                    raise
                lost = WorkerLost(self.rank, self.iteration, self.saved_iteration, err)
                # Said here, while SIGTERM (sent by torchrun to the survivors) is still caught.
                print(f"error: {lost}", file=sys.stderr, flush=True)
                raise lost from err

    def finish(self) -> Path:
        """Write ``model.pt`` and ``log.csv`` atomically (rank 0); returns the model's path."""
        model_path = self.workdir / "model.pt"
        if self.is_main:
            self.save()
            save_checkpoint(model_path, self._state("model"))
            with atomic_path(self.workdir / "log.csv") as tmp:
                tmp.write_bytes(self.running_log.read_bytes())
        return model_path


def _nanmean_rows(rows: np.ndarray) -> np.ndarray:
    """Column means ignoring NaN, NaN where a column has no value (no warning)."""
    valid = ~np.isnan(rows)
    total = np.where(valid, rows, 0.0).sum(axis=0)
    n = valid.sum(axis=0)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def digest_files(paths: Sequence[str | Path]) -> dict[str, str]:
    """SHA-256 of each file, keyed by its path as given."""
    return {str(p): file_sha256(p) for p in paths}
