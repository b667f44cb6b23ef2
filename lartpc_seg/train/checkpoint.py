"""Checkpoints: written atomically, refused with a clear message when unreadable."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from lartpc_seg.errors import InputError
from lartpc_seg.io.atomic import atomic_path
from lartpc_seg.models import UResNetConfig

#: Keys every checkpoint holds; a file without them is not one of ours.
REQUIRED_KEYS = ("kind", "iteration", "model", "fingerprint")


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> None:
    """Write ``state`` with ``torch.save`` to a temporary file and rename it into place."""
    missing = [k for k in REQUIRED_KEYS if k not in state]
    if missing:
        raise ValueError(f"checkpoint state lacks {missing}")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    # written with Python's own I/O, so a full disk raises OSError (torch's writer turns it
    # into a RuntimeError that names neither the file nor the cause)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint, raising :class:`InputError` naming the file if it is unusable.

    A truncated, overwritten or foreign file is refused: training never silently starts again
    from scratch over a checkpoint it cannot read. Delete the file to start afresh.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such checkpoint file" if not path.exists() else "not a file")
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


def model_config_of(path: str | Path, state: dict[str, Any]) -> UResNetConfig:
    """The network a checkpoint's weights belong to, refused naming the file when unusable."""
    config = state.get("model_config")
    if not isinstance(config, dict):
        raise InputError(
            path,
            "records no model configuration, so the network its weights belong to is unknown; "
            "use a model.pt written by `train`",
            field="model_config",
        )
    try:
        return UResNetConfig.from_dict(config)
    except (TypeError, ValueError) as err:
        raise InputError(path, f"bad model configuration: {err}", field="model_config") from err


def load_weights(path: str | Path, model: torch.nn.Module, state: dict[str, Any]) -> None:
    """Load a checkpoint's weights into ``model``, refusing weights of another network."""
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, TypeError, AttributeError) as err:
        first = str(err).strip().splitlines()
        detail = first[1].strip() if len(first) > 1 else (first[0] if first else "")
        raise InputError(
            path,
            f"its weights do not fit the network of its model_config {state['model_config']} "
            f"(another model size? {detail}); use the model.pt written with that configuration",
            field="model",
        ) from err


def set_aside(path: Path) -> Path:
    """Rename checkpoint ``path`` (``last.pt``) to the first free ``last.stale-N.pt``.

    N is one more than the largest number already used, so the set-aside checkpoints keep the
    order in which they were set aside and none is ever overwritten.
    """
    taken = [
        int(p.stem.rpartition("-")[2])
        for p in path.parent.glob(f"{path.stem}.stale-*{path.suffix}")
        if p.stem.rpartition("-")[2].isdigit()
    ]
    number = max(taken, default=0) + 1
    while True:
        target = path.with_name(f"{path.stem}.stale-{number}{path.suffix}")
        if target.exists():
            number += 1
            continue
        try:
            os.link(path, target)  # fails if target exists: never replaces a kept checkpoint
        except FileExistsError:
            number += 1
            continue
        except OSError:  # a file system without hard links
            path.rename(target)
            return target
        path.unlink()
        return target
