"""Progress lines for long jobs: count, rate and ETA at a steady cadence, into the job's log.

Snakemake sends each job's output to a file (``logs/...``), where a terminal progress bar either
stays silent (tqdm off a TTY) or writes carriage returns. These are plain lines instead, one
every ``interval`` seconds and one at the end, which ``tail -f logs/...`` follows::

    infer: 120/400 events (30 %), 3.2 events/s, elapsed 0:00:37, ETA 0:01:27
    infer: done, 400 events in 0:02:05 (3.2 events/s)

The cadence comes from ``LARTPC_PROGRESS_SECONDS`` (default 30; 0 writes a line per update).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

#: Environment variable with the seconds between progress lines.
INTERVAL_ENV = "LARTPC_PROGRESS_SECONDS"
DEFAULT_INTERVAL_S = 30.0


def default_interval() -> float:
    """Seconds between progress lines: ``$LARTPC_PROGRESS_SECONDS`` or 30."""
    text = os.environ.get(INTERVAL_ENV, "")
    try:
        value = float(text) if text else DEFAULT_INTERVAL_S
    except ValueError as err:
        raise ValueError(f"{INTERVAL_ENV} must be a number of seconds, got {text!r}") from err
    if value < 0:
        raise ValueError(f"{INTERVAL_ENV} must be >= 0, got {text!r}")
    return value


def format_duration(seconds: float) -> str:
    """``H:MM:SS`` of a non-negative duration (``?`` when not finite)."""
    if not seconds >= 0 or seconds == float("inf"):
        return "?"
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def eta_seconds(done: int, total: int, elapsed: float) -> float:
    """Seconds left at the mean rate so far (``inf`` before anything is done)."""
    if done <= 0:
        return float("inf")
    return max(total - done, 0) * elapsed / done


class Progress:
    """Count work done and print a line with rate and ETA every ``interval`` seconds.

    Parameters
    ----------
    name : str
        What the job is (the line's prefix), e.g. ``"infer"``.
    total : int
        Units of work in all.
    unit : str
        Name of a unit, plural (``"events"``).
    interval : float, optional
        Seconds between lines; default :func:`default_interval`.
    stream : text stream, optional
        Where the lines go (default ``sys.stdout``, flushed after each line).
    clock : callable, optional
        Monotonic seconds (tests pass a fake clock).
    """

    def __init__(
        self,
        name: str,
        total: int,
        unit: str = "events",
        *,
        interval: float | None = None,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.total = int(total)
        self.unit = unit
        self.interval = default_interval() if interval is None else float(interval)
        self.stream = stream
        self.clock = clock
        self.done = 0
        self.start = clock()
        self._last_line = self.start

    def _write(self, line: str) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        print(line, file=stream, flush=True)

    @property
    def elapsed(self) -> float:
        return self.clock() - self.start

    def status(self) -> str:
        """``120/400 events (30 %), 3.2 events/s, elapsed 0:00:37, ETA 0:01:27``."""
        elapsed = self.elapsed
        rate = self.done / elapsed if elapsed > 0 else float("nan")
        percent = 100.0 * self.done / self.total if self.total else 100.0
        return (
            f"{self.done}/{self.total} {self.unit} ({percent:.0f} %), {rate:.3g} {self.unit}/s, "
            f"elapsed {format_duration(elapsed)}, "
            f"ETA {format_duration(eta_seconds(self.done, self.total, elapsed))}"
        )

    def update(self, n: int = 1) -> None:
        """Add ``n`` units; print a line if ``interval`` seconds passed since the last one."""
        self.done += n
        now = self.clock()
        if now - self._last_line >= self.interval and self.done < self.total:
            self._last_line = now
            self._write(f"{self.name}: {self.status()}")

    def close(self) -> None:
        """Print the final line: units done, time taken and mean rate."""
        elapsed = self.elapsed
        rate = self.done / elapsed if elapsed > 0 else float("nan")
        self._write(
            f"{self.name}: done, {self.done} {self.unit} in {format_duration(elapsed)} "
            f"({rate:.3g} {self.unit}/s)"
        )

    def iterate(self, items: Iterable[T]) -> Iterator[T]:
        """Yield ``items``, counting one unit each, and print the final line at the end."""
        for item in items:
            yield item
            self.update()
        self.close()
