"""A Lightning callback that says, once per epoch, how many bad samples were skipped."""

from __future__ import annotations

import logging
from typing import Any

import pytorch_lightning as pl

log = logging.getLogger(__name__)


class SkippedSamples(pl.Callback):
    """Sums the batches' `skipped` counts (on_bad_sample: skip) and reports them per epoch.

    Samples left out when the cache was built are counted too, from `datamodule.skipped`.
    """

    def __init__(self) -> None:
        self.counts = {"train": 0, "val": 0}
        self.history: list[dict[str, int]] = []

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.counts = {"train": 0, "val": 0}

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
        batch_idx: int,
    ) -> None:  # fmt: skip
        self.counts["train"] += int(batch.get("skipped", 0))

    def on_validation_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
        batch_idx: int, dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        self.counts["val"] += int(batch.get("skipped", 0))

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        cached = len(getattr(trainer.datamodule, "skipped", []) or [])
        summary = {"epoch": trainer.current_epoch, "cache": cached, **self.counts}
        self.history.append(summary)
        if cached or any(self.counts.values()):
            log.warning(
                "epoch %d: skipped %d training and %d validation samples as bad; "
                "%d more were left out of the cache",
                trainer.current_epoch, self.counts["train"], self.counts["val"], cached,
            )  # fmt: skip
        total = float(self.counts["train"] + self.counts["val"])
        pl_module.log("data/skipped", total, sync_dist=True, reduce_fx="sum")  # every rank's
