"""Physiological signals (HR, RR) -> one token per time step, plus the masked temporal conv stack
that the video and sEMG encoders reuse."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from fusion.encoders.base import Tokens


def zero_masked(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """x with every position where the (B, N) mask is False set to 0 (NaN and inf included)."""
    keep = mask.reshape(mask.shape + (1,) * (x.ndim - mask.ndim))
    return torch.where(keep, x, torch.zeros((), dtype=x.dtype, device=x.device))


class TemporalConvBlock(nn.Module):
    """Pre-norm residual 1-D conv over (B, N, D); masked positions are held at zero.

    Inputs are zeroed where the mask is False before the conv and outputs after it, so padded
    positions can never reach a real one. LayerNorm keeps every sample independent of the batch.
    """

    def __init__(self, dim: int, kernel_size: int = 3, dilation: int = 1) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        padding = dilation * (kernel_size // 2)
        self.conv = nn.Conv1d(dim, dim, kernel_size, padding=padding, dilation=dilation)
        self.mix = nn.Conv1d(dim, dim, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = rearrange(zero_masked(self.norm(x), mask), "b n d -> b d n")
        h = rearrange(self.mix(F.gelu(self.conv(h))), "b d n -> b n d")
        return zero_masked(x + h, mask)


class TemporalConvStack(nn.Module):
    """`layers` residual conv blocks with dilations 1, 2, 4, ... (receptive field grows fast)."""

    def __init__(self, dim: int, layers: int, kernel_size: int = 3) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            TemporalConvBlock(dim, kernel_size, dilation=2**i) for i in range(layers)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = zero_masked(x, mask)
        for block in self.blocks:
            x = block(x, mask)
        return x


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
