"""`fusion eval`: a checkpoint's metrics and predictions on one split of its own data config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from fusion.checkpoints import read_checkpoint
from fusion.data.datamodule import FusionDataModule
from fusion.report import write_predictions
from fusion.train import PREDICTIONS, TASKS


def evaluate(
    checkpoint: Path, split: str = "test", out: Path | None = None
) -> tuple[Path, dict[str, Any]]:
    """Run the split through the checkpoint; write metrics.json and predictions.csv."""
    saved = read_checkpoint(checkpoint)
    kind = saved["hyper_parameters"]["config"]["task"].get("kind", "aqa")
    task = TASKS[kind].load_from_checkpoint(str(checkpoint), map_location="cpu")
    folder = out or checkpoint.parent.parent / f"eval-{split}"
    folder.mkdir(parents=True, exist_ok=True)
    datamodule = FusionDataModule(task.config["data"])
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=True)
    run = trainer.validate if split == "val" else trainer.test
    results = run(task, datamodule=datamodule, verbose=False)
    metrics = {k: float(v) for k, v in results[0].items()}
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    if kind in PREDICTIONS:
        write_predictions(task, folder / "predictions.csv")
    return folder, metrics
