"""The torch device a command runs on."""

from __future__ import annotations

import torch


def select_device(requested: str | None = None) -> torch.device:
    """CUDA when available (or requested), else the CPU."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
