"""`export(checkpoint, formats, out)`: a checkpoint -> artifacts + model.json in one folder, and
`load_exported(folder)`, which rebuilds a safetensors export through fusion's own classes.

Everything is written into a hidden temporary folder beside `out` and renamed into place at
the end, so `out` is either the previous export or the complete new one, never half-written.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from torch import nn

from fusion.export.checkpoint import (
    Checkpoint,
    ExportError,
    build_task,
    read_checkpoint,
    task_class,
)
from fusion.export.formats import (
    FORMATS,
    read_safetensors,
    write_onnx,
    write_safetensors,
    write_torchscript,
)
from fusion.export.metadata import model_json
from fusion.export.text import TEXT_FORMATS, write_text_model
from fusion.export.wrapper import AQAExport, Video2EMGExport
from fusion.fkg.loader import DEFAULT_FKG_PATH
from fusion.outputs import (
    OutputError,
    check_output_folder,
    say_swept,
    sweep_stale,
    temporary,
    writer_lock,
)

FKG_FILE = "fkg.yaml"  # the FKG an AQA model scores with, so `fusion predict` needs no repo
WRITERS = {"torchscript": write_torchscript, "onnx": write_onnx, "safetensors": write_safetensors}


def supported_formats(kind: str) -> tuple[str, ...]:
    """The formats a task kind exports to."""
    return TEXT_FORMATS if kind == "text" else tuple(FORMATS)


def build_wrapper(task: pl.LightningModule, kind: str, config: dict[str, Any]) -> nn.Module:
    """The positional-input wrapper of an AQA or Video->EMG task's model."""
    size = config["data"]["cache"].get("image_size")
    wrapper = AQAExport if kind == "aqa" else Video2EMGExport
    return wrapper(task.model, size)


def check_formats(formats: Sequence[str], kind: str, path: Path) -> list[str]:
    """The requested formats, deduplicated in order; unknown or unsupported ones refused."""
    chosen = list(dict.fromkeys(formats)) or list(supported_formats(kind))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown format {', '.join(unknown)}; expected some of {list(FORMATS)}")
    refused = [f for f in chosen if f not in supported_formats(kind)]
    if refused:
        raise ExportError(
            f"{path}: a {kind} checkpoint exports as {', '.join(supported_formats(kind))} only "
            f"(its LM via save_pretrained, the projector via safetensors); "
            f"{', '.join(refused)} cannot hold the LM's generation loop"
        )
    return chosen


def export(checkpoint: str | Path, formats: Sequence[str], out: str | Path) -> Path:
    """Export `checkpoint` in `formats` (none: every supported one) into the folder `out`.

    An existing `out` is replaced only when it is an earlier export (it holds model.json); one
    writer at a time (`.NAME.lock`), a dead run's `.NAME.tmp-PID` swept first.
    """
    out = Path(out)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown format {', '.join(unknown)}; expected some of {list(FORMATS)}")
    try:
        check_output_folder(out)
        with writer_lock(out, "export"):
            say_swept(sweep_stale(out), "export")
            _export_locked(checkpoint, formats, out)
    except OutputError as error:
        raise ExportError(str(error)) from None
    return out


def _export_locked(checkpoint: str | Path, formats: Sequence[str], out: Path) -> None:
    """Write the export into `.NAME.tmp-PID` and rename it over `out` (lock held)."""
    if out.exists() and not (out / "model.json").is_file():
        raise ExportError(f"{out}: exists and is not an earlier export (no model.json); "
                          "expected a new or an export folder")  # fmt: skip
    ckpt = read_checkpoint(checkpoint)
    chosen = check_formats(formats, ckpt.kind, ckpt.path)
    task = build_task(ckpt)
    tmp = temporary(out)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        meta = _write(ckpt, task, chosen, tmp)
        (tmp / "model.json").write_text(json.dumps(meta, indent=1) + "\n")
        shutil.rmtree(out, ignore_errors=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write(ckpt: Checkpoint, task: pl.LightningModule, formats: list[str], folder: Path) -> dict:
    """Write the artifacts into `folder`; returns the model.json content."""
    if ckpt.kind == "text":
        files = write_text_model(task.model, folder)
        return model_json(ckpt, task, formats, files)
    wrapper = build_wrapper(task, ckpt.kind, ckpt.config)
    files = {}
    for name in formats:
        WRITERS[name](wrapper, folder / FORMATS[name])
        files[name] = FORMATS[name]
    if ckpt.kind == "aqa":
        shutil.copyfile(ckpt.config["task"].get("fkg") or DEFAULT_FKG_PATH, folder / FKG_FILE)
        files["fkg"] = FKG_FILE
    return model_json(ckpt, task, formats, files, wrapper.inputs, wrapper.outputs)


def load_exported(folder: str | Path) -> nn.Module:
    """The wrapper of a safetensors export, rebuilt from its model.json config by fusion's
    classes and loaded with its weights (what the parity tests compare with the others)."""
    folder = Path(folder)
    meta_path = folder / "model.json"
    if not meta_path.is_file():
        raise ExportError(f"{meta_path}: no such file; expected a folder written by fusion export")
    meta = json.loads(meta_path.read_text())
    weights = folder / meta.get("files", {}).get("safetensors", FORMATS["safetensors"])
    if meta["task"] == "text" or not weights.is_file():
        raise ExportError(f"{folder}: holds no safetensors export of an AQA or Video->EMG model")
    task = task_class(meta["task"])(meta["config"]).eval()
    return read_safetensors(build_wrapper(task, meta["task"], meta["config"]), weights)
