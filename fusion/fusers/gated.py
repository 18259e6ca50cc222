"""Gated fusion: a sigmoid gate per modality from all of them, normalised gated sum."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from fusion.encoders.base import Tokens
from fusion.fusers.base import Fused, Fuser, join


class GatedFuser(Fuser):
    """Each modality's `TemporalPool` vector; gates from all vectors and presence flags.

    g = sigmoid(W [v_1 .. v_M, present_1 .. present_M] + b); pooled = sum_m g_m v_m / sum_m g_m
    over the present modalities (zeros for a sample with no modality).
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        dim: int,
        modality_dropout: float = 0.0,
        bins: int = 16,
    ) -> None:
        super().__init__(dims, dim, modality_dropout, bins)
        self.vector = self.temporal_pools(dim)
        count = len(self.dims)
        self.gate = nn.Linear(count * dim + count, count)

    def forward(self, tokens: Mapping[str, Tokens]) -> Fused:
        """Fused features: gate-weighted mean of the present modalities' vectors."""
        tokens = self.prepare(tokens)
        vectors = self.stack_pooled(tokens, self.vector)
        present = self.presence(tokens).to(vectors.dtype)
        gates = torch.sigmoid(self.gate(torch.cat([vectors.flatten(1), present], dim=-1)))
        gates = gates * present
        total = gates.sum(1, keepdim=True).clamp_min(torch.finfo(vectors.dtype).tiny)
        pooled = (gates.unsqueeze(-1) * vectors).sum(1) / total
        return self.fused(pooled, tokens, join(self.project(tokens)))
