"""The training loop: Adam steps, periodic validation, logging, checkpoints and resume."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path, remove_stale_temporaries
from lartpc_seg.labels import NUM_CLASSES, Label
from lartpc_seg.models import build_uresnet
from lartpc_seg.progress import eta_seconds, format_duration
from lartpc_seg.train.checkpoint import load_checkpoint, save_checkpoint, set_aside
from lartpc_seg.train.data import Batch, EventStore, augmentation_rngs, batch_indices
from lartpc_seg.train.interrupts import (
    StopRequest,
    TrainingInterrupted,
    WorkerLost,
    communication_error,
)
from lartpc_seg.train.log import append_row, start_log
from lartpc_seg.train.loss import segmentation_loss
from lartpc_seg.train.schedule import learning_rate
from lartpc_seg.train.setup import TrainSetup
from lartpc_seg.train.sync_batchnorm import convert_batchnorm
from lartpc_seg.version import code_version, source_digest


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

        A checkpoint of another setup (other data, labels, model, options, seed) or written by
        other code (:func:`~lartpc_seg.version.source_digest`) is set aside as
        ``last.stale-N.pt`` (N one more than any earlier one: none is ever overwritten) and
        training starts from scratch, saying what differs. An unreadable checkpoint raises
        :class:`InputError`.

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
        differences = [] if state is None else self.setup.differences(state)
        usable = state is not None and not differences
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
                stale = set_aside(self.checkpoint_path)
                self._say(
                    f"checkpoint {self.checkpoint_path} was made with another setup "
                    f"({'; '.join(differences)}); kept as {stale}, starting from scratch"
                )
            return False
        try:
            self.model.load_state_dict(state["model"])
        except RuntimeError as err:
            raise InputError(
                self.checkpoint_path,
                f"its weights do not fit the model it records ({_first_line(err)}); "
                "move it away to start training from scratch",
                field="model",
            ) from err
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
            "class_weight_power": self.setup.class_weight_power,
            "seed": self.setup.seed,
            "train_files": self.setup.train_digests,
            "train_digests": self.setup.data_digests(),
            "code_version": code_version(),
            "code_sha256": source_digest(),
            "torch_version": str(torch.__version__),
        }

    def save(self) -> None:
        """Write the checkpoint (rank 0 only) and truncate nothing: the log is already flushed."""
        if self.is_main:
            save_checkpoint(self.checkpoint_path, self._state("checkpoint"))
        self.saved_iteration = self.iteration

    def _open_log(self) -> None:
        """Keep the running log's rows up to the resumed iteration and append from there."""
        if self.is_main:
            start_log(self.running_log, self.iteration)

    def _log(self, phase: str, loss: float, acc: np.ndarray, rate: float) -> None:
        if self.is_main:
            append_row(self.running_log, self.iteration, phase, loss, acc, rate)

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
            weight_power=self.setup.class_weight_power,
            focal_gamma=opts.focal_gamma,
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
                weight_power=self.setup.class_weight_power,
                focal_gamma=self.setup.options.focal_gamma,
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
        with StopRequest() as stop:
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
                if self.world == 1 or not communication_error(err):
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


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _nanmean_rows(rows: np.ndarray) -> np.ndarray:
    """Column means ignoring NaN, NaN where a column has no value (no warning)."""
    valid = ~np.isnan(rows)
    total = np.where(valid, rows, 0.0).sum(axis=0)
    n = valid.sum(axis=0)
    return np.where(n > 0, total / np.maximum(n, 1), np.nan)
