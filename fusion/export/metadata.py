"""`model.json`: everything a user of an exported model needs beside the artifact.

It holds the resolved run config, the FKG the model scores with (version and hash), the input
and output specs, the preprocessing the data pipeline applied before the model saw a batch,
the labels of the outputs' axes, the tuned thresholds, the run's test metrics and where the
weights came from (the checkpoint's path and sha256).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from fusion import __version__
from fusion.constants import EMG_CHANNELS
from fusion.data.config import data_config, preprocess_specs
from fusion.data.transforms import build_transforms
from fusion.export.checkpoint import Checkpoint
from fusion.export.signature import TensorSpec

VIDEO_STEPS = (
    "frames as collated: uint8 (B, V, T, H, W, 3) after the preprocess steps (resize and "
    "centre-crop to data.cache.image_size)",
    "made channels-first: (B, V, T, 3, H, W)",
    "scaled to [0, 1] (/ 255), then (x - video_mean) / video_std per RGB channel",
)


def preprocessing(config: dict[str, Any]) -> dict[str, Any]:
    """What `FusionDataModule` applies before the encoders, with every transform's resolved
    parameters (physio baselines, EMG band and rate, pose centring and scale ...)."""
    data = config["data"]
    size = data["cache"].get("image_size")
    return {
        "order": "reader -> preprocess -> transform -> collate (zero padding + masks) -> video",
        "preprocess": build_transforms(preprocess_specs(data_config(data))).spec()["transforms"],
        "transform": build_transforms(list(data.get("transform") or [])).spec()["transforms"],
        "video": {
            "mean": list(data["video_mean"]),
            "std": list(data["video_std"]),
            "image_size": size,
            "frames_per_clip": data["clip"]["frames"],
            "steps": list(VIDEO_STEPS),
        },
        "reader": {
            k: data["reader"].get(k)
            for k in ("format", "modalities", "views", "video_fps", "emg_rate_hz", "skeleton_unit")
        },
        "signals": "float32; rows padded with zeros to the batch's longest, mask False there",
        "not_applied": "training-only steps (augment, colour jitter) are not for inference",
    }


def fkg_record(task: pl.LightningModule) -> dict[str, Any] | None:
    """Name, version, hash and source of the task's FKG (None for a task without one)."""
    fkg = getattr(task, "fkg", None)
    if fkg is None:
        return None
    return {"name": fkg.name, "version": fkg.version, "sha256": fkg.sha256, "source": fkg.source}


def labels(task: pl.LightningModule, kind: str) -> dict[str, Any]:
    """What the outputs' axes mean: actions and per-action error slots, or EMG channels."""
    if kind == "video2emg":
        return {"channels": list(EMG_CHANNELS), "actions": list(task.model.actions)}
    fkg = task.fkg
    return {
        "actions": [{"id": a, "name": fkg.action(a).name} for a in fkg.action_ids],
        "error_slots": {
            a: [{"id": e.id, "name": e.name, "weight": e.weight} for e in fkg.action(a).errors]
            for a in fkg.action_ids
        },
    }


def thresholds(task: pl.LightningModule) -> dict[str, float]:
    """The AQA task's tuned cuts: an error is present above error_threshold (error_probs), a
    time bin is in an error's span above span_threshold (frame_probs)."""
    if not hasattr(task, "threshold"):
        return {}
    return {"error_threshold": task.error_threshold, "span_threshold": task.span_threshold}


def run_metrics(checkpoint: Path) -> dict[str, Any] | None:
    """The run folder's metrics.json when the checkpoint lies in its `checkpoints/`."""
    path = checkpoint.resolve().parent.parent / "metrics.json"
    if checkpoint.resolve().parent.name != "checkpoints" or not path.is_file():
        return None
    return json.loads(path.read_text())


def model_json(
    checkpoint: Checkpoint,
    task: pl.LightningModule,
    formats: Sequence[str],
    files: dict[str, str],
    inputs: Sequence[TensorSpec] = (),
    outputs: Sequence[TensorSpec] = (),
) -> dict[str, Any]:
    """The model.json content of one export."""
    return {
        "fusion_version": __version__,
        "torch_version": torch.__version__,
        "task": checkpoint.kind,
        "formats": list(formats),
        "files": files,
        "checkpoint": {"path": str(checkpoint.path.resolve()), "sha256": checkpoint.sha256},
        "fkg": fkg_record(task),
        "inputs": [spec.to_dict() for spec in inputs],
        "outputs": [spec.to_dict() for spec in outputs],
        "labels": labels(task, checkpoint.kind) if checkpoint.kind != "text" else None,
        "thresholds": thresholds(task),
        "preprocessing": preprocessing(checkpoint.config),
        "metrics": run_metrics(checkpoint.path),
        "config": checkpoint.config,
    }
