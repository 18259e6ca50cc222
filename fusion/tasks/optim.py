"""The optimiser every task uses: AdamW with a linear warm-up, then a cosine decay per epoch."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn


def parameter_groups(
    module: nn.Module, lr: float, factors: Mapping[str, float]
) -> list[dict[str, Any]]:
    """AdamW groups: the parameters under each module path of `factors` (e.g. `encoders.video`,
    as LLaVA's `mm_vision_tower_lr` sets the vision tower's) at `lr` times its factor, the rest
    at `lr`. A factor of 0 freezes that module; parameters already frozen are left out."""
    groups: dict[str, list[nn.Parameter]] = {path: [] for path in factors}
    rest: list[nn.Parameter] = []
    for path in factors:
        try:
            module.get_submodule(path)
        except AttributeError:
            raise ValueError(f"model.lr_factors: the model has no module {path!r}") from None
        if factors[path] < 0:
            raise ValueError(f"model.lr_factors: {path}: expected a factor >= 0")
    for name, parameter in module.named_parameters():
        owner = next((p for p in factors if name.startswith(f"{p}.")), None)
        if owner is not None and factors[owner] == 0:
            parameter.requires_grad_(False)
        if not parameter.requires_grad:
            continue
        (groups[owner] if owner is not None else rest).append(parameter)
    chosen = [{"params": rest, "lr": lr}] if rest else []
    chosen += [{"params": ps, "lr": lr * factors[p]} for p, ps in groups.items() if ps]
    return chosen


def adamw_warmup_cosine(
    parameters: Iterable[torch.nn.Parameter] | list[dict[str, Any]], config: Mapping[str, Any]
) -> dict[str, Any]:
    """Lightning's `configure_optimizers` answer for a run config (its `task.lr`,
    `task.weight_decay`, `task.warmup_epochs`, `trainer.max_epochs`): AdamW, `warmup_cosine`.
    `parameters` may be `parameter_groups`, each with its own learning rate."""
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
