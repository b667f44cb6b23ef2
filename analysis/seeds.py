"""Results over training seeds (``train.seeds``): the first seed's value, and mean and spread.

Every variant is trained once per seed on the same events. The tables keep the layout of one
training: each cell is the *first* seed's value with its bootstrap interval over test events (the
default study's seed, so a one-seed run and a several-seed run agree on it), and beside it the
mean and the sample standard deviation (``n - 1`` in the denominator) of the per-seed values,
with their minimum and maximum in the CSV. The bootstrap interval measures the test sample; the
spread over seeds measures the training.

Names on the command line carry the seed as ``VARIANT@SEED`` (``relabeled@20190314``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lartpc_seg.errors import InputError

#: Which spread the tables give, in words (captions and JSON).
SPREAD = "sample standard deviation (n - 1)"


def split_seed(name: str, field: str) -> tuple[str, int | None]:
    """``VARIANT@SEED`` → ``(VARIANT, SEED)``; a bare ``VARIANT`` → ``(VARIANT, None)``.

    Raises
    ------
    InputError
        A seed that is not a non-negative integer, or an empty variant, naming ``field``.
    """
    variant, sep, seed = name.partition("@")
    if not variant or (sep and not seed.isdigit()):
        raise InputError(
            None,
            f"expected VARIANT or VARIANT@SEED (SEED a non-negative integer), got {name!r}",
            field=field,
        )
    return variant, int(seed) if sep else None


@dataclass(frozen=True)
class OverSeeds:
    """Mean, spread and range of per-seed values (arrays of one shape, NaN where undefined).

    Attributes
    ----------
    n : int
        Seeds.
    mean, sd, min, max : ndarray
        Over the seeds with a defined (finite) value; ``sd`` is the sample standard deviation,
        NaN with fewer than two defined values.
    """

    n: int
    mean: np.ndarray
    sd: np.ndarray
    min: np.ndarray
    max: np.ndarray


def over_seeds(values: Sequence[float] | np.ndarray) -> OverSeeds:
    """Mean, sample standard deviation, minimum and maximum over the first axis (the seeds).

    Parameters
    ----------
    values : (S, ...) array_like
        One value (or array of values) per seed; NaN marks an undefined value (a class absent),
        left out of the statistics.

    Returns
    -------
    OverSeeds
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 0 or values.shape[0] == 0:
        raise ValueError("over_seeds needs at least one seed")
    finite = np.isfinite(values)
    count = finite.sum(axis=0)
    filled = np.where(finite, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, filled.sum(axis=0) / np.maximum(count, 1), np.nan)
        squares = np.where(finite, (values - mean) ** 2, 0.0).sum(axis=0)
        sd = np.where(count > 1, np.sqrt(squares / np.maximum(count - 1, 1)), np.nan)
    low = np.where(count > 0, np.where(finite, values, np.inf).min(axis=0), np.nan)
    high = np.where(count > 0, np.where(finite, values, -np.inf).max(axis=0), np.nan)
    return OverSeeds(n=values.shape[0], mean=mean, sd=sd, min=low, max=high)


def mean_sd_cell(mean: float, sd: float) -> str:
    """``mean ± sd`` with one decimal (values already in percent); empty when undefined."""
    if math.isnan(mean):
        return ""
    if math.isnan(sd):
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {sd:.1f}"


def spread_header(title: str, n: int) -> str:
    """Header of the column beside ``title``: its mean ± sd over ``n`` seeds."""
    return f"{title}: mean ± sd, {n} seeds"


def spread_sentence(seeds: Sequence[int]) -> str:
    """The caption's words on what the value and the spread are, for several seeds."""
    listed = ", ".join(str(s) for s in seeds)
    return (
        f"Each value and its interval are those of training seed {seeds[0]}, the first of the "
        f"{len(seeds)} seeds ({listed}); beside it, the mean ± {SPREAD} of the {len(seeds)} "
        "per-seed values (the CSV adds their minimum and maximum)"
    )
