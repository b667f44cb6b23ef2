"""Checkpoints: written atomically, refused with a clear message when unreadable."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path

#: Keys every checkpoint holds; a file without them is not one of ours.
REQUIRED_KEYS = ("kind", "iteration", "model", "fingerprint")


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` with ``torch.save`` to a temporary file and rename it into place."""
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise ValueError(f"checkpoint state lacks {missing}")
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint, raising :class:`InputError` naming the file if it is unusable.

    A truncated, overwritten or foreign file is refused: training never silently starts again
    from scratch over a checkpoint it cannot read. Delete the file to start afresh.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except (
        RuntimeError,
        EOFError,
        OSError,
        pickle.UnpicklingError,
        zipfile.BadZipFile,
        ValueError,
    ) as err:
        raise InputError(
            path,
            f"checkpoint is corrupt or not a checkpoint ({type(err).__name__}: {err}); "
            "delete it to start training from scratch",
        ) from err
    if not isinstance(state, dict) or any(k not in state for k in REQUIRED_KEYS):
        raise InputError(
            path, "not a lartpc_seg checkpoint (missing keys); delete it to start again"
        )
    return state
