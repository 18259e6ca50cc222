"""Reading a `fusion train` / `fusion bench` checkpoint for export, refusing anything else.

A checkpoint is opened by `fusion.checkpoints.read_checkpoint` (`weights_only=True`: Lightning
stores the run config as plain data, so a file from elsewhere cannot run code while it is
read). The task is then built from that config (as `load_from_checkpoint` would) and given the
stored weights.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from fusion.checkpoints import CheckpointError, first_line
from fusion.checkpoints import read_checkpoint as read_fusion_checkpoint
from fusion.fkg.loader import FKGError

EXPECTED = "a .ckpt written by `fusion train` or `fusion bench`"
KINDS: tuple[str, ...] = ("aqa", "text", "video2emg")


class ExportError(ValueError):
    """A checkpoint, option or output folder that cannot be exported; the message names it."""


@dataclass
class Checkpoint:
    """A checkpoint's path, content hash, task kind, run config and weights."""

    path: Path
    sha256: str
    kind: str
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def task_kind(config: dict[str, Any]) -> str:
    """aqa | text (the run config's task.kind) or video2emg (a learned envelope model)."""
    task, model = config.get("task") or {}, config.get("model") or {}
    if model.get("kind") == "learned" and "envelope" in task:
        return "video2emg"
    return str(task.get("kind", "aqa"))


def read_checkpoint(path: str | Path) -> Checkpoint:
    """The checkpoint at `path`; an ExportError naming it when it is missing, unreadable
    (truncated, not a torch file) or not a fusion checkpoint."""
    path = Path(path)
    try:
        saved = read_fusion_checkpoint(path, "export")
    except CheckpointError as error:
        raise ExportError(f"{error}; expected {EXPECTED}") from None
    config = saved["hyper_parameters"]["config"]
    kind = task_kind(config)
    if kind not in KINDS:
        raise ExportError(f"{path}: unknown task kind {kind!r}; expected one of {list(KINDS)}")
    return Checkpoint(path, file_sha256(path), kind, config, saved["state_dict"])


def task_class(kind: str) -> type[pl.LightningModule]:
    """The LightningModule class of a task kind."""
    from fusion.tasks.aqa import AQATask
    from fusion.tasks.text import TextTask
    from fusion.tasks.video2emg import Video2EMGTask

    return {"aqa": AQATask, "text": TextTask, "video2emg": Video2EMGTask}[kind]


def build_task(checkpoint: Checkpoint) -> pl.LightningModule:
    """The checkpoint's task built from its config, with its weights, in eval mode."""
    try:
        task = task_class(checkpoint.kind)(checkpoint.config)
        task.load_state_dict(checkpoint.state_dict)
    except (FKGError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise ExportError(
            f"{checkpoint.path}: cannot rebuild its {checkpoint.kind} model ({first_line(error)})"
        ) from None
    return task.eval()
