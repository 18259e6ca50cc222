"""The token contract shared by encoders, fusers and heads."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Tokens:
    """(B, N, D) features with a (B, N) mask (True = real) and (B, N) time stamps in seconds.

    Padded or missing positions have mask False; their values must not influence any output.
    """

    values: torch.Tensor
    mask: torch.Tensor
    times: torch.Tensor

    def __post_init__(self) -> None:
        b, n = self.values.shape[:2]
        if self.mask.shape != (b, n) or self.times.shape != (b, n):
            raise ValueError(
                f"tokens {tuple(self.values.shape)} need mask and times of shape {(b, n)}, got "
                f"{tuple(self.mask.shape)} and {tuple(self.times.shape)}"
            )

    @property
    def dim(self) -> int:
        return self.values.shape[-1]


def masked_mean(values: torch.Tensor, mask: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """Mean over `dim` of the positions where mask is True; zeros where none is."""
    weights = mask.to(values.dtype).unsqueeze(-1)
    total = (values * weights).sum(dim)
    count = weights.sum(dim).clamp_min(1.0)
    return total / count
