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


def timeline(tokens: Tokens, bins: int) -> torch.Tensor:
    """(B, bins, D): tokens resampled at `bins` evenly spaced points of each sample's own span.

    The span runs from the sample's first to its last real token time; point k sits at the
    centre of the k-th of `bins` equal parts, and takes the kernel-weighted mean of the real
    tokens (a Gaussian one part wide), so dense tokens are averaged and sparse ones
    interpolated. Feature k thus means "this far into the repetition" whatever its tempo,
    which a mean over time loses. A sample without real tokens gets zeros.
    """
    if bins < 1:
        raise ValueError(f"timeline needs bins >= 1, got {bins}")
    mask = tokens.mask
    if mask.shape[1] == 0:
        return tokens.values.new_zeros(mask.shape[0], bins, tokens.dim)
    times = tokens.times.masked_fill(~mask, 0.0)
    big = torch.finfo(times.dtype).max
    first = times.masked_fill(~mask, big).amin(1).masked_fill(~mask.any(1), 0.0)
    last = times.masked_fill(~mask, -big).amax(1).masked_fill(~mask.any(1), 0.0)
    width = ((last - first) / bins).clamp_min(1e-3)
    steps = torch.arange(bins, device=times.device, dtype=times.dtype) + 0.5
    centres = first.unsqueeze(1) + steps * width.unsqueeze(1)
    return resample(tokens, centres, width)


def resample(tokens: Tokens, at: torch.Tensor, width: torch.Tensor | float) -> torch.Tensor:
    """(B, Q, D): the Gaussian-kernel mean of the real tokens around each (B, Q) time `at`.

    `width` (seconds; a float or (B,)) is the kernel's standard deviation. Every query gets a
    weighted mean of the real tokens (the nearest ones dominate), so tokens at one rate can be
    read at any other; a sample without real tokens gets zeros.
    """
    mask = tokens.mask
    if mask.shape[1] == 0:
        return tokens.values.new_zeros(*at.shape, tokens.dim)
    width = torch.as_tensor(width, dtype=at.dtype, device=at.device).reshape(-1, 1, 1)
    times = tokens.times.masked_fill(~mask, 0.0)
    distance = (times.unsqueeze(1) - at.unsqueeze(2)) / width
    logits = (-0.5 * distance.square()).masked_fill(~mask.unsqueeze(1), float("-inf"))
    weights = torch.nan_to_num(logits.softmax(-1), nan=0.0)
    values = tokens.values.masked_fill(~mask.unsqueeze(-1), 0.0)
    return weights @ values
