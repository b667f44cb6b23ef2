"""3D event display: the voxels of one event coloured by ``vox_label`` and by ``vox_relabel``.

An event is picked by its entry ``K`` (0-based position in the file) or by its event number
(the ``event`` branch); ``python -m lartpc_seg display`` (:mod:`lartpc_seg.display_command`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.io.events import Event, EventFile
from lartpc_seg.labels import Label

#: One colour per class (colour-blind-safe Okabe-Ito palette).
LABEL_COLOURS: dict[Label, str] = {
    Label.HIP: "#D55E00",
    Label.MIP: "#0072B2",
    Label.SHOWER: "#009E73",
    Label.DELTA: "#CC79A7",
    Label.MICHEL: "#E69F00",
}

#: Marker area (points²) of the smallest and of the most energetic voxel of an event.
MARKER_AREA_RANGE = (2.0, 30.0)


def marker_areas(energy_mev: np.ndarray) -> np.ndarray:
    """Marker areas ``(N,)`` in points², linear in energy from the range's low to high end."""
    energy_mev = np.asarray(energy_mev, np.float64)
    lo, hi = MARKER_AREA_RANGE
    if energy_mev.size == 0 or energy_mev.max() <= 0:
        return np.full(energy_mev.shape, lo)
    return lo + (hi - lo) * energy_mev / energy_mev.max()


def draw_event(event: Event, grid: int, title: str, *, grid_lines: bool = False) -> Figure:
    """A figure with two 3D scatter panels: original labels and relabeled classes.

    Parameters
    ----------
    event : Event
        The event to draw.
    grid : int
        Voxels per side; the axes span ``0..grid`` voxels.
    title : str
        Figure title.
    grid_lines : bool
        Draw the axes' grid lines and panes.
    """
    fig = Figure(figsize=(12, 6), dpi=100)  # no pyplot: no global state, no GUI backend
    sizes = marker_areas(event.energy)
    for k, (name, classes) in enumerate(
        (("vox_label (original)", event.label), ("vox_relabel (relabeled)", event.relabel))
    ):
        ax = fig.add_subplot(1, 2, k + 1, projection="3d")
        colours = np.array([LABEL_COLOURS[Label(c)] for c in classes], dtype=object)
        if len(event):
            ax.scatter(
                event.coords[:, 0],
                event.coords[:, 1],
                event.coords[:, 2],
                c=list(colours),
                s=sizes,
                depthshade=False,
                linewidths=0,
            )
        for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
            setter(0, grid)
        ax.set_xlabel("x [voxel]")
        ax.set_ylabel("y [voxel]")
        ax.set_zlabel("z [voxel]")
        ax.set_title(name)
        ax.grid(grid_lines)
        if not grid_lines:
            for axis in (ax.xaxis, ax.yaxis, ax.zaxis):
                axis.pane.set_visible(False)
        present = sorted(set(np.asarray(classes).tolist()))
        handles = [
            Line2D(
                [],
                [],
                marker="o",
                linestyle="",
                color=LABEL_COLOURS[Label(c)],
                label=f"{Label(c).title} ({int(np.sum(classes == c))})",
            )
            for c in present
        ]
        if handles:
            ax.legend(handles=handles, loc="upper left", fontsize="small")
    fig.suptitle(title)
    return fig


def _entry_of_number(events: EventFile, number: int) -> int:
    numbers = events.tree["event"].array(library="np")
    hits = np.flatnonzero(numbers == number)
    if hits.size == 0:
        raise InputError(
            events.path, "no event with this number in the file", event=number, field="event"
        )
    return int(hits[0])


def display(
    path: str | Path,
    out: str | Path,
    *,
    entry: int | None = None,
    number: int | None = None,
    grid_lines: bool = False,
    dpi: int = 100,
) -> Path:
    """Draw one event of an event file to a PNG, atomically.

    Parameters
    ----------
    path : str or Path
        Event file.
    out : str or Path
        PNG to write (``12 × 6`` inches at ``dpi``).
    entry : int, optional
        Entry index (0-based position in the file).
    number : int, optional
        Event number (the ``event`` branch); exactly one of ``entry`` and ``number``.
    grid_lines : bool
        Draw grid lines and panes.
    dpi : int
        Pixels per inch.

    Returns
    -------
    Path
        ``out``.
    """
    path, out = Path(path), Path(out)
    if (entry is None) == (number is None):
        raise ValueError("give exactly one of entry and number")
    with EventFile(path) as events:
        if number is not None:
            entry = _entry_of_number(events, number)
        if not 0 <= entry < len(events):
            raise InputError(
                path,
                f"entry {entry} is out of range: the file holds {len(events)} events "
                f"(entries 0..{len(events) - 1})",
                event=entry,
            )
        (event,) = events.read(entry, entry + 1)
        grid = events.meta.grid
    title = f"{path.name}: event {event.event} (entry {entry}), {len(event)} voxels"
    fig = draw_event(event, grid, title, grid_lines=grid_lines)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return out
