"""Physiological signals (HR, RR) -> one token per time step."""

from __future__ import annotations

import torch
from torch import nn

from fusion.encoders.base import Tokens
from fusion.encoders.temporal import TemporalConvStack, zero_masked


class PhysioEncoder(nn.Module):
    """(B, L, channels) HR/RR -> tokens (B, L, dim) at the input times."""

    def __init__(self, channels: int = 2, dim: int = 32, layers: int = 2) -> None:
        super().__init__()
        self.channels = channels
        self.out_dim = dim
        self.embed = nn.Linear(channels, dim)
        self.temporal = TemporalConvStack(dim, layers)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, times: torch.Tensor) -> Tokens:
        if x.ndim != 3 or x.shape[-1] != self.channels:
            raise ValueError(f"physio: expected (B, L, {self.channels}), got {tuple(x.shape)}")
        mask = mask.bool()
        return Tokens(self.temporal(self.embed(zero_masked(x, mask)), mask), mask, times)
