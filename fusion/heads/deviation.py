"""Per-action standardisation: features as deviations from the action's usual execution.

An error is a deviation of a few centimetres or a few decibels from how the exercise is
normally done, while the features also carry the exercise's own large motion. Standardising
each feature by running statistics of the sample's action makes that deviation the signal
(what a per-action StandardScaler does for a linear probe), and makes it unit-scale, so a
linear map learns it in a few hundred Adam steps instead of tens of thousands.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from fusion.encoders.base import Tokens, timeline

DEVIATION_SOURCES: tuple[str, ...] = ("fused", "encoders")


class ActionStandardizer(nn.Module):
    """(B, F) features and (B,) action rows -> (x - mean[a]) / std[a] with running statistics.

    Training batches update an exponential moving mean and second moment per action (each
    sample moves its action's statistics by `momentum`); the statistics are buffers, so they
    travel with the checkpoint and are used unchanged at inference. Gradients do not flow
    into the statistics. An optional (B, F) `mask` marks absent entries (a modality the sample
    lacks): they give 0 (no evidence of a deviation) and leave the statistics alone.
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

    def forward(
        self, x: torch.Tensor, action: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        if mask is None:
            mask = torch.ones_like(x, dtype=torch.bool)
        if self.training:
            self._update(x.detach(), action, mask)
        variance = (self.square - self.mean.square()).clamp_min(0.0)
        z = (x - self.mean[action]) * (variance[action] + self.eps).rsqrt()
        return z.masked_fill(~mask, 0.0)

    @torch.no_grad()
    def _update(self, x: torch.Tensor, action: torch.Tensor, mask: torch.Tensor) -> None:
        for a in action.unique().tolist():
            rows, present = x[action == a], mask[action == a].float()
            count = present.sum(0)
            if not count.any():
                continue
            keep = (1.0 - self.momentum) ** count if self.seen[a] else (count == 0).float()
            mean = (rows * present).sum(0) / count.clamp_min(1.0)
            square = (rows.square() * present).sum(0) / count.clamp_min(1.0)
            self.mean[a] = keep * self.mean[a] + (1.0 - keep) * mean
            self.square[a] = keep * self.square[a] + (1.0 - keep) * square
            self.seen[a] = True


def modality_timelines(
    tokens: Mapping[str, Tokens],
    present: Mapping[str, torch.Tensor],
    dims: Mapping[str, int],
    bins: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each modality's encoder tokens resampled at `bins` points, flattened side by side.

    Returns (B, bins * sum(dims)) features in the order of `dims` and a same-shaped mask that
    is False for a modality the sample lacks (not passed, no real token, or dropped by the
    fuser's modality dropout, as `present` says), whose features are zeros.
    """
    first = next(iter(tokens.values()))
    batch, device = first.values.shape[0], first.values.device
    features, masks = [], []
    for modality, width in dims.items():
        if modality in tokens:
            t = tokens[modality]
            here = present.get(modality, t.mask.any(1)) & t.mask.any(1)
            values = timeline(t, bins).flatten(1) * here[:, None]
        else:
            here = torch.zeros(batch, dtype=torch.bool, device=device)
            values = first.values.new_zeros(batch, bins * width)
        features.append(values)
        masks.append(here[:, None].expand(batch, bins * width))
    return torch.cat(features, dim=1), torch.cat(masks, dim=1)
