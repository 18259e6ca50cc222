"""A training run end to end: config -> DataModule + task -> Trainer -> test -> run folder.

The run folder holds the resolved config, checkpoints (best by validation loss, and last), the
Lightning CSV log, `metrics.json`, `predictions.csv` and plots; a text run also `lm/`, its
tested LM and tokenizer written by `save_pretrained`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger, Logger
from pytorch_lightning.utilities import rank_zero_only

from fusion.checkpoints import read_checkpoint
from fusion.config import to_container
from fusion.data.callbacks import SkippedSamples
from fusion.data.datamodule import FusionDataModule
from fusion.features import feature_datamodule
from fusion.report import write_plots, write_predictions
from fusion.runs import (
    RUN_FOLDER_ENV,
    ContinuedCSVLogger,
    RunPlace,
    logged_rows,
    place_run,
    shared_with_launched_ranks,
)
from fusion.tasks.aqa import AQATask
from fusion.tasks.pose_distill import PoseDistillTask
from fusion.tasks.text import TextTask

TASKS: dict[str, type[pl.LightningModule]] = {
    "aqa": AQATask,
    "text": TextTask,
    "pose_distill": PoseDistillTask,
}
PREDICTIONS = ("aqa", "text")  # task kinds with a predictions.csv (pose_distill has none)


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


def make_trainer(
    config: DictConfig,
    folder: Path,
    callbacks: list[pl.Callback],
    logger: Logger | None = None,
) -> pl.Trainer:
    """The Trainer of `config.trainer` (every option Lightning knows), logging to the folder's
    metrics.csv unless another logger is given."""
    options = {k: v for k, v in to_container(config.trainer).items() if v is not None}
    options.pop("compile", None)  # ours: applied to the model in `train`
    reload = 1 if config.data.balance == "two-step" else 0
    return pl.Trainer(
        **options,
        default_root_dir=str(folder),
        logger=logger or CSVLogger(str(folder), name="", version=""),
        callbacks=callbacks,
        reload_dataloaders_every_n_epochs=reload,
    )


def single_process_tester(config: DictConfig, trainer: pl.Trainer) -> pl.Trainer:
    """After a distributed fit: rank 0's own Trainer on one device, so the test split is seen
    once, whole, in order (a distributed sampler pads it with repeats) and the predictions
    file holds every sample. The process group is ended on every rank first."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return pl.Trainer(
        accelerator=config.trainer.accelerator,
        devices=1,
        precision=config.trainer.precision,
        logger=trainer.logger,
        default_root_dir=trainer.default_root_dir,
        enable_progress_bar=config.trainer.enable_progress_bar,
        enable_model_summary=False,
    )


def build_run(config: DictConfig) -> tuple[pl.LightningDataModule, pl.LightningModule]:
    """The run's DataModule and task: the data, its modalities checked, the task of
    `task.kind`, feature-cache mode's batches when enabled, the model compiled when asked."""
    datamodule = FusionDataModule(config.data)
    check_modalities(list(config.model.modalities), datamodule)
    task = TASKS[config.task.kind](to_container(config))
    if config.get("features") is not None and config.features.enabled:
        datamodule = feature_datamodule(config, datamodule, task.model)
    if config.trainer.get("compile"):
        task.model.compile()
    return datamodule, task


def train(
    config: DictConfig, resume: str | None = None, folder: Path | None = None
) -> tuple[Path, dict[str, Any]]:
    """Fit, test the best checkpoint, write everything into the run folder (`fusion.runs`):
    `folder`, the one the checkpoint continued lies in (`resume` or `config.resume`: a
    last.ckpt or `auto`), or a new one. Under DDP every rank trains; rank 0 tests and writes,
    the others return ({}) after the fit. A new run folder that fails before its first
    checkpoint is removed, so a failed run leaves no folder that looks like a run."""
    if resume is not None:
        config = config.copy()
        config.resume = resume
    pl.seed_everything(config.seed, workers=True)
    fresh = folder is None and not os.environ.get(RUN_FOLDER_ENV)
    place = place_run(config, folder)
    fresh = fresh and place.checkpoint is None and rank_zero_only.rank == 0
    try:
        return _train(config, place)
    except BaseException:
        if fresh and not any((place.folder / "checkpoints").glob("*.ckpt")):
            shutil.rmtree(place.folder, ignore_errors=True)  # a run that never got going
        raise


def _train(config: DictConfig, place: RunPlace) -> tuple[Path, dict[str, Any]]:
    """`train` in its placed run folder."""
    folder = place.folder
    epochs_done = 0
    if place.checkpoint is not None:
        epochs_done = 1 + int(read_checkpoint(place.checkpoint, "resume")["epoch"])
    if rank_zero_only.rank == 0:
        (folder / "config.yaml").write_text(OmegaConf.to_yaml(config))
    datamodule, task = build_run(config)
    checkpoint = ModelCheckpoint(
        dirpath=str(folder / "checkpoints"),
        filename="best",
        monitor="val/loss",
        mode="min",
        save_last=True,
    )
    logger = ContinuedCSVLogger(folder, logged_rows(folder, epochs_done) if epochs_done else [])
    trainer = make_trainer(config, folder, [checkpoint, SkippedSamples()], logger)
    checkpoint_path = str(place.checkpoint) if place.checkpoint else None
    with shared_with_launched_ranks(place):
        trainer.fit(task, datamodule=datamodule, ckpt_path=checkpoint_path)
    best = checkpoint.best_model_path or None
    epochs = trainer.current_epoch
    if trainer.world_size > 1:
        rank = trainer.global_rank
        trainer = single_process_tester(config, trainer)
        if rank != 0:
            return folder, {}
    datamodule.setup()
    (folder / "split.json").write_text(datamodule.split.to_json())
    results = trainer.test(task, datamodule=datamodule, ckpt_path=best or None, verbose=False)
    metrics = {k: float(v) for k, v in results[0].items()} if results else {}
    metrics["best_checkpoint"] = best
    metrics["epochs"] = epochs
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    if config.task.kind in PREDICTIONS:
        write_predictions(task, folder / "predictions.csv")
    write_plots(folder, task, config.task.kind)
    if isinstance(task, TextTask):
        task.model.save_language_model(folder / "lm")
    return folder, metrics
