"""A training run end to end: config -> DataModule + task -> Trainer -> test -> run folder.

The run folder holds the resolved config, checkpoints (best by validation loss, and last), the
Lightning CSV log, `metrics.json`, `predictions.csv` and plots; a text run also `lm/`, its
tested LM and tokenizer written by `save_pretrained`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger

from fusion.config import to_container
from fusion.data.callbacks import SkippedSamples
from fusion.data.datamodule import FusionDataModule
from fusion.data.features import feature_datamodule
from fusion.report import write_plots, write_predictions
from fusion.tasks.aqa import AQATask
from fusion.tasks.text import TextTask

TASKS: dict[str, type[pl.LightningModule]] = {"aqa": AQATask, "text": TextTask}


def run_folder(config: DictConfig) -> Path:
    """runs/<name>-<YYYYmmdd-HHMMSS>, created; a second within the same second gets a suffix."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(config.out) / f"{config.name}-{stamp}"
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    folder.mkdir(parents=True)
    return folder


def check_modalities(modalities: list[str], datamodule: FusionDataModule) -> None:
    """Refuse a model modality that the dataset has for none of its samples."""
    summary = datamodule.reader.summary()
    read = set(datamodule.config.reader.modalities)
    for modality in modalities:
        if modality not in read or summary["missing"].get(modality, 0) >= summary["samples"]:
            raise ValueError(
                f"model.modalities asks for {modality}, but {datamodule.config.reader.root} "
                f"({summary['dataset']}) has no {modality} (reader.modalities: {sorted(read)})"
            )


def make_trainer(config: DictConfig, folder: Path, callbacks: list[pl.Callback]) -> pl.Trainer:
    options = {k: v for k, v in to_container(config.trainer).items() if v is not None}
    reload = 1 if config.data.balance == "two-step" else 0
    return pl.Trainer(
        **options,
        default_root_dir=str(folder),
        logger=CSVLogger(str(folder), name="", version=""),
        callbacks=callbacks,
        reload_dataloaders_every_n_epochs=reload,
    )


def train(
    config: DictConfig, resume: str | None = None, folder: Path | None = None
) -> tuple[Path, dict[str, Any]]:
    """Fit, test the best checkpoint, write everything into the run folder: `folder`, the one
    `resume` (a last.ckpt) lies in, or a new one."""
    pl.seed_everything(config.seed, workers=True)
    if folder is None:
        folder = Path(resume).parent.parent if resume else run_folder(config)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(OmegaConf.to_yaml(config))
    datamodule = FusionDataModule(config.data)
    check_modalities(list(config.model.modalities), datamodule)
    task = TASKS[config.task.kind](to_container(config))
    if config.get("features") is not None and config.features.enabled:
        datamodule = feature_datamodule(config, datamodule, task.model)
    checkpoint = ModelCheckpoint(
        dirpath=str(folder / "checkpoints"),
        filename="best",
        monitor="val/loss",
        mode="min",
        save_last=True,
    )
    trainer = make_trainer(config, folder, [checkpoint, SkippedSamples()])
    trainer.fit(task, datamodule=datamodule, ckpt_path=resume)
    datamodule.setup()
    (folder / "split.json").write_text(datamodule.split.to_json())
    best = checkpoint.best_model_path or None
    results = trainer.test(task, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    metrics = {k: float(v) for k, v in results[0].items()} if results else {}
    metrics["best_checkpoint"] = best
    metrics["epochs"] = trainer.current_epoch
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    write_predictions(task, folder / "predictions.csv")
    write_plots(folder, task)
    if isinstance(task, TextTask):
        task.model.save_language_model(folder / "lm")
    return folder, metrics
