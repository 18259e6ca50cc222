"""An exported model opened for inference: its model.json and a TorchScript or ONNX Runtime
session, behind one call (named tensors in, named arrays out). No fusion model class, task
or Lightning is involved: the artifact alone computes the outputs.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fusion.checkpoints import first_line

RUNTIMES: dict[str, str] = {"torchscript": "model.pt", "onnx": "model.onnx"}
EXPECTED = "a folder written by `fusion export` (model.json beside model.pt or model.onnx)"


class ArtifactError(ValueError):
    """An export folder or file that cannot be run; the message names it and what was expected."""


@dataclass
class Artifact:
    """model.json's content and the session that runs the model file."""

    folder: Path
    meta: dict[str, Any]
    runtime: str
    session: Callable[[Mapping[str, torch.Tensor]], dict[str, np.ndarray]]

    @property
    def task(self) -> str:
        return self.meta["task"]

    @property
    def input_names(self) -> list[str]:
        return [spec["name"] for spec in self.meta["inputs"]]

    def __call__(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
        """The outputs (model.json `outputs` names) for the named inputs."""
        missing = [name for name in self.input_names if name not in inputs]
        if missing:
            raise ArtifactError(f"{self.folder}: inputs {missing} not given")
        return self.session(inputs)


def read_model_json(folder: Path) -> dict[str, Any]:
    """model.json of an export folder, checked for the fields predict reads."""
    path = folder / "model.json"
    if not path.is_file():
        raise ArtifactError(f"{path}: no such file; expected {EXPECTED}")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ArtifactError(f"{path}: not valid JSON ({error}); expected {EXPECTED}") from None
    fields = ("task", "files", "inputs", "outputs", "config", "preprocessing")
    missing = [f for f in fields if not isinstance(meta, dict) or f not in meta]
    if missing:
        raise ArtifactError(f"{path}: lacks {', '.join(missing)}; expected {EXPECTED}")
    if meta["task"] == "text":
        raise ArtifactError(
            f"{path}: a text model (its LM is a save_pretrained folder); fusion predict runs "
            "AQA and Video->EMG exports"
        )
    return meta


def open_artifact(path: str | Path, runtime: str | None = None) -> Artifact:
    """The export at `path` (its folder, or its model.pt / model.onnx), run by `runtime`
    (torchscript | onnx; None: the file named, else TorchScript when exported, else ONNX)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if not folder.is_dir():
        raise ArtifactError(f"{path}: no such folder or file; expected {EXPECTED}")
    meta = read_model_json(folder)
    if runtime is None and path.is_file():
        runtime = next((r for r, name in RUNTIMES.items() if path.name == name), None)
    files = {r: meta["files"].get(r) for r in RUNTIMES if meta["files"].get(r)}
    if runtime is None:
        runtime = next(iter(files), None)
    if runtime not in RUNTIMES:
        raise ArtifactError(
            f"{folder}: runtime {runtime!r}: expected one of {list(RUNTIMES)} with its file "
            f"exported (this export has {list(files) or 'neither'})"
        )
    if runtime not in files:
        raise ArtifactError(f"{folder}: holds no {runtime} export; it has {list(files)}")
    model_file = folder / files[runtime]
    opener = _torchscript if runtime == "torchscript" else _onnx
    outputs = [spec["name"] for spec in meta["outputs"]]
    inputs = [spec["name"] for spec in meta["inputs"]]
    return Artifact(folder, meta, runtime, opener(model_file, inputs, outputs))


def _torchscript(path: Path, inputs: list[str], outputs: list[str]) -> Callable:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # jit is deprecated, not yet removed
            module = torch.jit.load(str(path), map_location="cpu").eval()
    except (RuntimeError, ValueError, OSError) as error:
        raise ArtifactError(
            f"{path}: not a loadable TorchScript file (truncated or corrupt?): {first_line(error)}"
        ) from None

    def run(named: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
        with torch.no_grad():
            values = module(*(named[name] for name in inputs))
        return {name: value.numpy() for name, value in zip(outputs, values, strict=True)}

    return run


def _onnx(path: Path, inputs: list[str], outputs: list[str]) -> Callable:
    # ONNX Runtime writes a telemetry device id under ~/.cache when it loads, unless told not to
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as error:  # noqa: BLE001 - onnxruntime raises its own untyped errors
        raise ArtifactError(
            f"{path}: not a loadable ONNX model (truncated or corrupt?): {first_line(error)}"
        ) from None

    def run(named: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
        feed = {name: named[name].numpy() for name in inputs}
        return dict(zip(outputs, session.run(outputs, feed), strict=True))

    return run
