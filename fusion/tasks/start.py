"""What every trained task does with `model.encoders_from` and `model.lr_factors`."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl

from fusion.models.backbone import load_encoders
from fusion.tasks.optim import adamw_warmup_cosine, parameter_groups


class EncoderStart(pl.LightningModule):
    """Starts `self.model.encoders` from `model.encoders_from` before fitting (a resumed run's
    own weights are restored after, so they win), and trains each module path of
    `model.lr_factors` at its own learning rate (0 freezes it)."""

    config: dict[str, Any]

    def setup(self, stage: str) -> None:
        source = self.config["model"].get("encoders_from")
        if stage == "fit" and source:
            load_encoders(self.model, source, "model.encoders_from")

    def configure_optimizers(self) -> dict[str, Any]:
        factors = self.config["model"].get("lr_factors") or {}
        groups = parameter_groups(self.model, self.config["task"]["lr"], factors)
        return adamw_warmup_cosine(groups, self.config)
