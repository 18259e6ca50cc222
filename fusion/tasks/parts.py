"""The validation and test hooks shared by tasks that collect outputs per part and score them
at the end of the epoch."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl


class PartsTask(pl.LightningModule):
    """Routes Lightning's validation/test hooks to `_eval_step(part, batch)` and
    `_epoch_end(part)`, with part "val" or "test"."""

    def _eval_step(self, part: str, batch: dict[str, Any]) -> None:
        raise NotImplementedError

    def _epoch_end(self, part: str) -> None:
        raise NotImplementedError

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step("val", batch)

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        self._eval_step("test", batch)

    def on_validation_epoch_end(self) -> None:
        self._epoch_end("val")

    def on_test_epoch_end(self) -> None:
        self._epoch_end("test")
