"""3-D joints (B, L, J, 3) -> per-frame embedding -> transformer over time -> one token per frame.

This is the Muscles in Action pose model's shape (Chiquier & Vondrick, ICCV 2023): every frame's
joints flattened and embedded, a sinusoidal position code, self-attention over the clip. It needs
no bone graph, so it reads any skeleton (FLEX-21, SMPL-X, MIA's VIBE joints) given its joint
count. Joint velocities are embedded beside positions, since muscle work follows motion.
"""

from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn

from fusion.encoders.base import Tokens
from fusion.encoders.temporal import zero_masked


def sinusoidal_positions(length: int, dim: int, device: torch.device) -> torch.Tensor:
    """(length, dim) sine/cosine position codes (Vaswani et al.)."""
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    rate = torch.exp(torch.arange(0, dim, 2, device=device) * (-math.log(10000.0) / dim))
    codes = torch.zeros(length, dim, device=device)
    codes[:, 0::2] = torch.sin(position * rate)
    codes[:, 1::2] = torch.cos(position * rate[: dim // 2])
    return codes


class PoseTransformerEncoder(nn.Module):
    """Frames of `joints` 3-D joints -> `layers` pre-norm transformer layers -> (B, L, dim)."""

    def __init__(
        self,
        joints: int = 21,
        dim: int = 64,
        layers: int = 2,
        heads: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if joints < 1 or dim % heads or dim % 2:
            raise ValueError(
                f"pose_transformer: need joints >= 1 and an even dim divisible by heads, got "
                f"joints={joints}, dim={dim}, heads={heads}"
            )
        self.joints = joints
        self.out_dim = dim
        self.embed = nn.Sequential(nn.Linear(joints * 6, dim), nn.GELU(), nn.Linear(dim, dim))
        layer = nn.TransformerEncoderLayer(
            dim, heads, 2 * dim, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, times: torch.Tensor) -> Tokens:
        if x.ndim != 4 or x.shape[2:] != (self.joints, 3):
            raise ValueError(
                f"pose_transformer: expected (B, L, {self.joints}, 3) joints, got {tuple(x.shape)}"
            )
        mask = mask.bool()
        x = zero_masked(x, mask)
        step = torch.zeros_like(x)
        step[:, 1:] = (x[:, 1:] - x[:, :-1]) * (mask[:, 1:] & mask[:, :-1])[..., None, None]
        frames = rearrange(torch.cat([x, step], dim=-1), "b l j c -> b l (j c)")
        h = self.embed(frames) + sinusoidal_positions(x.shape[1], self.out_dim, x.device)
        # A sample with no real frame attends over its zeros instead of producing NaN.
        padding = ~mask & mask.any(1, keepdim=True)
        h = self.norm(self.transformer(h, src_key_padding_mask=padding))
        return Tokens(zero_masked(h, mask), mask, times)
