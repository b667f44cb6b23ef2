"""Shared figure style: the mplhep ROOT style, the experiment label, atomic saving.

Example
-------
>>> with style():
...     fig, ax = plt.subplots()
...     ax.plot([0, 1], [0, 1])
...     label(ax, data="Simulation")
...     save_figure(fig, "results/figures/line.pdf")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import mplhep

from lartpc_seg.io.atomic import atomic_path

#: The text in bold at the top left of every figure.
EXPERIMENT = "LArTPC"

__all__ = ["EXPERIMENT", "label", "plt", "save_figure", "style"]


@contextlib.contextmanager
def style() -> Iterator[None]:
    """Draw the figures made inside the block in the mplhep ROOT style."""
    with plt.style.context(mplhep.style.ROOT):
        yield


def label(ax: matplotlib.axes.Axes, data: str = "Simulation", *, rlabel: str | None = None) -> None:
    """Put the experiment label on ``ax``.

    Parameters
    ----------
    ax : Axes
        The (top) axes of the figure.
    data : {"Simulation", "Open data"}
        What the figure shows.
    rlabel : str, optional
        Text at the top right (e.g. the network variant).
    """
    if data not in ("Simulation", "Open data"):
        raise ValueError(f"data must be 'Simulation' or 'Open data', got {data!r}")
    mplhep.label.exp_text(EXPERIMENT, data, loc=0, ax=ax)
    if rlabel:
        ax.text(1.0, 1.0, rlabel, transform=ax.transAxes, ha="right", va="bottom", fontsize="small")


def save_figure(fig: matplotlib.figure.Figure, path: str | Path, *, close: bool = True) -> Path:
    """Save ``fig`` atomically (format from the suffix), close it unless told; returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "pdf", bbox_inches="tight")
    if close:
        plt.close(fig)
    return path
