"""Attention pooling over modalities: learned scores, softmax over the present ones only."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from fusion.encoders.base import Tokens
from fusion.fusers.base import Fused, Fuser, join


def masked_softmax(scores: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis restricted to `present`; all zeros where nothing is present."""
    filled = scores.masked_fill(~present, torch.finfo(scores.dtype).min)
    return filled.softmax(-1) * present


class AttentionFuser(Fuser):
    """Each modality's vector (its `TemporalPool` to dim), weighted by a learned additive score.

    score_m = w . tanh(W v_m + b); weights = softmax of the scores over the modalities the sample
    has; pooled = sum_m weight_m v_m (zeros for a sample with no modality).
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        dim: int,
        hidden: int | None = None,
        modality_dropout: float = 0.0,
        bins: int = 16,
    ) -> None:
        super().__init__(dims, dim, modality_dropout, bins)
        hidden = hidden or dim
        self.vector = self.temporal_pools(dim)
        # No bias on the last layer: a shift common to all modalities cancels in the softmax.
        self.score = nn.Sequential(
            nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1, bias=False)
        )

    def forward(self, tokens: Mapping[str, Tokens]) -> Fused:
        """Fused features: attention-weighted sum of the present modalities' vectors."""
        tokens = self.prepare(tokens)
        vectors = self.stack_pooled(tokens, self.vector)
        weights = masked_softmax(self.score(vectors)[..., 0], self.presence(tokens))
        pooled = (weights.unsqueeze(-1) * vectors).sum(1)
        return self.fused(pooled, tokens, join(self.project(tokens)))
