"""`fusion eval`: a checkpoint's metrics and predictions on one split of its own data config."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fusion.checkpoints import read_checkpoint
from fusion.config import ConfigError
from fusion.data.config import data_config
from fusion.data.datamodule import FusionDataModule
from fusion.report import write_predictions
from fusion.train import PREDICTIONS, TASKS


def data_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """The checkpoint's data config with `data.KEY=VALUE` overrides (where the data lies now,
    its cache folder, loader workers); any other key would change what the model computes."""
    for item in overrides:
        key, sep, _ = item.partition("=")
        if not sep or not key.startswith("data.") or key == "data.":
            raise ConfigError(f"fusion eval: override {item!r}: expected data.KEY=VALUE")
    try:
        merged = OmegaConf.merge(data, OmegaConf.from_dotlist([o[5:] for o in overrides]))
        return asdict(data_config(merged))
    except (OmegaConfBaseException, ValueError) as error:
        raise ConfigError(f"fusion eval: {str(error).splitlines()[0]}") from None


def evaluate(
    checkpoint: Path, split: str = "test", out: Path | None = None, overrides: list[str] = ()
) -> tuple[Path, dict[str, Any]]:
    """Run the split through the checkpoint, with its data config changed by `overrides`
    (`data.reader.root=...` for a run trained elsewhere); write metrics.json and predictions."""
    saved = read_checkpoint(checkpoint)
    kind = saved["hyper_parameters"]["config"]["task"].get("kind", "aqa")
    task = TASKS[kind].load_from_checkpoint(str(checkpoint), map_location="cpu")
    data = data_overrides(task.config["data"], list(overrides))
    folder = out or checkpoint.parent.parent / f"eval-{split}"
    folder.mkdir(parents=True, exist_ok=True)
    datamodule = FusionDataModule(data)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_progress_bar=True)
    run = trainer.validate if split == "val" else trainer.test
    results = run(task, datamodule=datamodule, verbose=False)
    metrics = {k: float(v) for k, v in results[0].items()}
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    if kind in PREDICTIONS:
        write_predictions(task, folder / "predictions.csv")
    return folder, metrics
