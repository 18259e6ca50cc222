"""Masked temporal convolutions over (B, N, D) tokens, shared by the encoders."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


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
