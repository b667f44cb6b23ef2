"""How a training stops early: a signal (checkpoint, then exit) or a lost distributed worker."""

from __future__ import annotations

import signal
from typing import Any

import torch


class StopRequest:
    """Turns SIGTERM/SIGINT into a flag checked between steps, so a checkpoint can be written."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequest:
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


def communication_error(err: RuntimeError) -> bool:
    """Whether ``err`` comes from a failed collective rather than a bug of this process."""
    if isinstance(err, torch.distributed.DistError):
        return True
    text = str(err).lower()
    return any(word in text for word in _COMMUNICATION_WORDS)
