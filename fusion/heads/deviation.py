"""Per-action standardisation: features as deviations from the action's usual execution.

An error is a deviation of a few centimetres or a few decibels from how the exercise is
normally done, while the features also carry the exercise's own large motion. Standardising
each feature by running statistics of the sample's action makes that deviation the signal
(what a per-action StandardScaler does for a linear probe), and makes it unit-scale, so a
linear map learns it in a few hundred Adam steps instead of tens of thousands.
"""

from __future__ import annotations

import torch
from torch import nn


class ActionStandardizer(nn.Module):
    """(B, F) features and (B,) action rows -> (x - mean[a]) / std[a] with running statistics.

    Training batches update an exponential moving mean and second moment per action (each
    sample moves its action's statistics by `momentum`); the statistics are buffers, so they
    travel with the checkpoint and are used unchanged at inference. Gradients do not flow
    into the statistics.
    """

    def __init__(
        self, num_actions: int, features: int, momentum: float = 0.05, eps: float = 1e-4
    ) -> None:
        super().__init__()
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"momentum must be in (0, 1], got {momentum}")
        self.momentum = momentum
        self.eps = eps
        self.register_buffer("mean", torch.zeros(num_actions, features))
        self.register_buffer("square", torch.ones(num_actions, features))
        self.register_buffer("seen", torch.zeros(num_actions, dtype=torch.bool))

    def forward(self, x: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        if self.training:
            self._update(x.detach(), action)
        variance = (self.square - self.mean.square()).clamp_min(0.0)
        return (x - self.mean[action]) * (variance[action] + self.eps).rsqrt()

    @torch.no_grad()
    def _update(self, x: torch.Tensor, action: torch.Tensor) -> None:
        for a in action.unique().tolist():
            rows = x[action == a]
            keep = (1.0 - self.momentum) ** len(rows) if self.seen[a] else 0.0
            self.mean[a] = keep * self.mean[a] + (1.0 - keep) * rows.mean(0)
            self.square[a] = keep * self.square[a] + (1.0 - keep) * rows.square().mean(0)
            self.seen[a] = True
