"""Transformer fusion: all modalities' tokens in one sequence with a CLS token."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from fusion.encoders.base import Tokens, masked_mean
from fusion.fusers.base import Fused, Fuser, TemporalPool, join


def angular_frequencies(dim: int, min_period: float, max_period: float) -> torch.Tensor:
    """dim // 2 angular frequencies (rad/s) for periods spaced geometrically in [min, max] s."""
    if not 0.0 < min_period < max_period:
        raise ValueError(f"need 0 < min_period < max_period, got {min_period}, {max_period}")
    periods = torch.logspace(math.log10(min_period), math.log10(max_period), dim // 2)
    return 2.0 * math.pi / periods


def time_embedding(times: torch.Tensor, frequencies: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding (..., dim) of times in seconds: [sin(w t), cos(w t)], zero-padded."""
    angles = times.unsqueeze(-1) * frequencies.to(times.dtype)
    embedding = torch.cat([angles.sin(), angles.cos()], dim=-1)
    return nn.functional.pad(embedding, (0, dim - embedding.shape[-1]))


class TransformerFuser(Fuser):
    """Tokens projected to dim + modality embedding + time embedding, CLS first, pre-norm encoder.

    Padded or absent tokens are left out of attention with `src_key_padding_mask`; the CLS token
    is never masked, so a sample with no modality still gets a finite pooled vector.
    pooled = the CLS output, plus (bins > 0) the mean over present modalities of a `TemporalPool`
    of each one's output tokens; tokens = the contextualised modality tokens (zeros where masked).
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        dim: int,
        layers: int = 2,
        heads: int = 4,
        ffn: int | None = None,
        dropout: float = 0.1,
        min_period: float = 0.01,
        max_period: float = 100.0,
        modality_dropout: float = 0.0,
        bins: int = 16,
    ) -> None:
        super().__init__(dims, dim, modality_dropout, bins)
        if dim % heads:
            raise ValueError(f"dim {dim} must be divisible by heads {heads}")
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        self.modality_embedding = nn.Parameter(torch.randn(len(self.dims), dim) * 0.02)
        self.register_buffer(
            "frequencies", angular_frequencies(dim, min_period, max_period), persistent=False
        )
        layer = nn.TransformerEncoderLayer(
            dim,
            heads,
            dim_feedforward=ffn or 2 * dim,
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False
        )
        self.timeline = (
            nn.ModuleDict({m: TemporalPool(dim, dim, bins) for m in self.modalities})
            if bins
            else None
        )

    def forward(self, tokens: Mapping[str, Tokens]) -> Fused:
        """Fused features: the CLS output and the contextualised tokens."""
        tokens = self.prepare(tokens)
        projected = self.project(tokens)
        embedded = {
            m: Tokens(
                t.values
                + self.modality_embedding[self.modalities.index(m)]
                + time_embedding(t.times, self.frequencies, self.dim),
                t.mask,
                t.times,
            )
            for m, t in projected.items()
        }
        joined = join(embedded)
        batch = joined.values.shape[0]
        sequence = torch.cat([self.cls.expand(batch, -1, -1), joined.values], dim=1)
        keep = torch.cat([joined.mask.new_ones(batch, 1), joined.mask], dim=1)
        out = self.encoder(sequence, src_key_padding_mask=~keep)
        contextualised = out[:, 1:].masked_fill(~joined.mask.unsqueeze(-1), 0.0)
        pooled = out[:, 0]
        if self.timeline is not None:
            pooled = pooled + self._timeline(contextualised, embedded)
        return self.fused(pooled, tokens, Tokens(contextualised, joined.mask, joined.times))

    def _timeline(
        self, contextualised: torch.Tensor, embedded: Mapping[str, Tokens]
    ) -> torch.Tensor:
        """Mean over the present modalities of each one's `TemporalPool` of its output tokens."""
        parts, start = [], 0
        for m, t in embedded.items():
            end = start + t.mask.shape[1]
            own = Tokens(contextualised[:, start:end], t.mask, t.times)
            parts.append(self.timeline[m](own))
            start = end
        present = torch.stack([t.mask.any(1) for t in embedded.values()], dim=1)
        return masked_mean(torch.stack(parts, dim=1), present)
