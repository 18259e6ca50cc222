"""Reading `fusion train` checkpoints: tensors and plain data only (`weights_only=True`), and
a clear error for a file that is missing, truncated, corrupt or not one of ours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

REQUIRED = ("state_dict", "hyper_parameters")


def first_line(error: BaseException, limit: int = 300) -> str:
    """An exception's first message line (its type's name when it has none), for one-line
    errors that wrap what a library raised."""
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:limit]


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: the message names the file and what was expected."""


def read_checkpoint(path: str | Path, option: str = "checkpoint") -> dict[str, Any]:
    """The checkpoint's contents; `option` names the setting or argument in errors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{option}: {path}: no such checkpoint")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch.load raises a different type per damage
        raise CheckpointError(
            f"{option}: {path}: not a readable checkpoint (truncated or corrupt?): "
            f"{first_line(error)}"
        ) from None
    missing = [k for k in REQUIRED if not isinstance(saved, dict) or k not in saved]
    if missing or "config" not in saved["hyper_parameters"]:
        raise CheckpointError(
            f"{option}: {path}: not a fusion checkpoint (expected a Lightning checkpoint "
            f"with {', '.join(REQUIRED)} and hyper_parameters.config; lacks "
            f"{', '.join(missing) or 'hyper_parameters.config'})"
        )
    return saved
