"""Concatenation fusion, the FLEX baseline: pooled modality slots side by side, then an MLP."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from fusion.encoders.base import Tokens, masked_mean
from fusion.fusers.base import Fused, Fuser, join


class ConcatFuser(Fuser):
    """Masked-mean pool each modality, project it to a `slot`, concatenate all slots, MLP to dim.

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
    ) -> None:
        super().__init__(dims, dim, modality_dropout)
        self.slot = slot or dim
        hidden = hidden or dim
        self.slot_proj = nn.ModuleDict({m: nn.Linear(d, self.slot) for m, d in self.dims.items()})
        self.mlp = nn.Sequential(
            nn.Linear(len(self.dims) * self.slot, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, dim),
        )

    def forward(self, tokens: Mapping[str, Tokens]) -> Fused:
        """Fused features: MLP over the concatenated slots; tokens projected to `dim`."""
        tokens = self.prepare(tokens)
        present = self.presence(tokens)
        first = next(iter(tokens.values())).values
        zeros = first.new_zeros(first.shape[0], self.slot)
        slots = []
        for i, m in enumerate(self.modalities):
            if m not in tokens:
                slots.append(zeros)
                continue
            pooled = self.slot_proj[m](masked_mean(tokens[m].values, tokens[m].mask))
            slots.append(pooled * present[:, i, None])
        fused = self.mlp(torch.cat(slots, dim=-1))
        return self.fused(fused, tokens, join(self.project(tokens)))
