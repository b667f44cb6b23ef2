"""Learning-rate schedules: the rate of every optimiser step as a pure function of the step.

A pure function of the iteration (rather than a stateful ``torch.optim.lr_scheduler``) makes a
resumed training take exactly the rates of an uninterrupted one.
"""

from __future__ import annotations

import math

#: the schedules ``train.lr_schedule`` accepts
SCHEDULES = ("constant", "cosine")


def learning_rate(
    iteration: int, *, lr: float, schedule: str, iterations: int, warmup: int = 0
) -> float:
    """The learning rate of the optimiser step that follows ``iteration`` completed steps.

    Parameters
    ----------
    iteration : int
        Steps done so far (0 for the first step).
    lr : float
        Peak learning rate.
    schedule : {"constant", "cosine"}
        ``constant``: ``lr`` after the warm-up. ``cosine``: from ``lr`` at the end of the warm-up
        down to 0 at ``iterations`` along half a cosine (Loshchilov & Hutter, arXiv:1608.03983,
        without restarts).
    iterations : int
        Total steps of the training.
    warmup : int
        Steps of linear warm-up from ``lr / warmup`` to ``lr`` (0: none).

    Returns
    -------
    float
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {schedule!r}; known: {SCHEDULES}")
    if warmup < 0 or iterations < 1:
        raise ValueError(f"need warmup >= 0 and iterations >= 1, got {warmup} and {iterations}")
    if iteration < warmup:
        return lr * (iteration + 1) / warmup
    if schedule == "constant":
        return lr
    span = max(iterations - warmup, 1)
    progress = min((iteration - warmup) / span, 1.0)
    return 0.5 * lr * (1.0 + math.cos(math.pi * progress))
