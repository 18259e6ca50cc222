"""The optimiser every task uses: AdamW with a linear warm-up, then a cosine decay per epoch."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch


def adamw_warmup_cosine(
    parameters: Iterable[torch.nn.Parameter], config: Mapping[str, Any]
) -> dict[str, Any]:
    """Lightning's `configure_optimizers` answer for a run config (its `task.lr`,
    `task.weight_decay`, `task.warmup_epochs`, `trainer.max_epochs`): AdamW, `warmup_cosine`."""
    task = config["task"]
    optimizer = torch.optim.AdamW(parameters, lr=task["lr"], weight_decay=task["weight_decay"])
    epochs = max(1, int(config["trainer"]["max_epochs"]))
    warmup = min(task["warmup_epochs"], epochs - 1)
    # One LambdaLR rather than SequentialLR(LinearLR, CosineAnnealingLR): its checkpoint
    # state does not depend on the schedule, so a run resumed with more epochs still loads.
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, functools.partial(warmup_cosine, warmup=warmup, epochs=epochs)
    )
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


def warmup_cosine(epoch: int, warmup: int, epochs: int) -> float:
    """LR factor: linear from 0.1 to 1 over `warmup` epochs, then cosine down to 0."""
    if epoch < warmup:
        return 0.1 + 0.9 * epoch / warmup
    progress = (epoch - warmup) / max(1, epochs - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
