"""The Video->EMG head: tokens on the target clock -> temporal decoder -> envelope + L/R shares.

Input tokens are already on the envelope's clock (one per target row, `fusion.encoders.base
.resample`), so the decoder is a stack of masked dilated convolutions that lets each row see
the motion around it (muscles fire ahead of and during the movement they drive). The envelope
is linear (targets are scaled, not bounded); each pair's left share is a sigmoid of the pooled
decoder output, the clip-level quantity FLEX's loader computes.
"""

from __future__ import annotations

import torch
from torch import nn

from fusion.encoders.base import masked_mean
from fusion.encoders.temporal import TemporalConvStack, zero_masked


class EMGHead(nn.Module):
    """(B, T, dim) tokens + (B, T) mask -> envelope (B, T, channels), contribution (B, pairs)."""

    def __init__(self, dim: int, channels: int, pairs: int, layers: int = 3) -> None:
        super().__init__()
        if channels < 1 or pairs < 0 or layers < 0:
            raise ValueError(
                f"emg head: need channels >= 1, pairs >= 0, layers >= 0; got {channels}, "
                f"{pairs}, {layers}"
            )
        self.decoder = TemporalConvStack(dim, layers)
        self.norm = nn.LayerNorm(dim)
        self.envelope = nn.Linear(dim, channels)
        self.contribution = nn.Linear(dim, pairs) if pairs else None

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.norm(self.decoder(tokens, mask))
        out = {"envelope": zero_masked(self.envelope(h), mask)}
        if self.contribution is not None:
            out["contribution"] = torch.sigmoid(self.contribution(masked_mean(h, mask)))
        return out
