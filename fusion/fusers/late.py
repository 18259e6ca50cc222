"""Late fusion: a small head per modality, combined by a mean over the present modalities."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from fusion.encoders.base import Tokens, masked_mean
from fusion.fusers.base import Fused, Fuser, join


class LateFuser(Fuser):
    """Per-modality MLP over its `TemporalPool` summary -> `dim`; pooled = mean over present.

    `Fused.per_modality[m]` is modality m's own features (zeros where a sample lacks it), for
    heads that predict from each modality separately.
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        dim: int,
        hidden: int | None = None,
        dropout: float = 0.1,
        modality_dropout: float = 0.0,
        bins: int = 16,
    ) -> None:
        super().__init__(dims, dim, modality_dropout, bins)
        hidden = hidden or dim
        self.heads = nn.ModuleDict(
            {
                m: nn.Sequential(pool, nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))
                for m, pool in self.temporal_pools(hidden).items()
            }
        )

    def forward(self, tokens: Mapping[str, Tokens]) -> Fused:
        """Fused features: each modality's head output, averaged over the present ones."""
        tokens = self.prepare(tokens)
        per_modality = {}
        for m, t in tokens.items():
            present = t.mask.any(1, keepdim=True)
            per_modality[m] = self.heads[m](t) * present
        present = torch.stack([t.mask.any(1) for t in tokens.values()], dim=1)
        pooled = masked_mean(torch.stack(list(per_modality.values()), dim=1), present)
        return self.fused(pooled, tokens, join(self.project(tokens)), per_modality)
