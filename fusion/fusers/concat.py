"""Concatenation fusion, the FLEX baseline: pooled modality slots side by side, then an MLP."""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from fusion.encoders.base import Tokens
from fusion.fusers.base import Fused, Fuser, join


class ConcatFuser(Fuser):
    """Each modality summarised over time into a `slot` (`TemporalPool`), slots concatenated, MLP.

    Slots sit in the sorted modality order of `dims`; an absent modality's slot is zeros.
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        dim: int,
        slot: int | None = None,
        hidden: int | None = None,
        dropout: float = 0.1,
        modality_dropout: float = 0.0,
        bins: int = 16,
    ) -> None:
        super().__init__(dims, dim, modality_dropout, bins)
        self.slot = slot or dim
        hidden = hidden or dim
        self.slot_pool = self.temporal_pools(self.slot)
        self.mlp = nn.Sequential(
            nn.Linear(len(self.dims) * self.slot, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, dim),
        )

    def forward(self, tokens: Mapping[str, Tokens]) -> Fused:
        """Fused features: MLP over the concatenated slots; tokens projected to `dim`."""
        tokens = self.prepare(tokens)
        slots = self.stack_pooled(tokens, self.slot_pool)
        fused = self.mlp(slots.flatten(1))
        return self.fused(fused, tokens, join(self.project(tokens)))
