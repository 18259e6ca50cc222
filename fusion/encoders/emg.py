"""sEMG (B, L, channels) -> per-frame spectral or envelope features -> tokens at frame centres."""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchaudio
from einops import rearrange
from torch import nn

from fusion.encoders.base import Tokens
from fusion.encoders.temporal import TemporalConvStack, zero_masked

FEATURES: tuple[str, ...] = ("spectrogram", "envelope")


class EMGEncoder(nn.Module):
    """Short-time features every `hop_length` samples, a linear embedding and a conv stack.

    `features="spectrogram"`: log1p of the per-channel power spectrogram (n_fft window, centred
    frames); `"envelope"`: moving RMS over the same centred windows. Frame k is centred on sample
    k * hop_length; it is a real token when that sample is real, and takes that sample's time.
    """

    def __init__(
        self,
        channels: int = 16,
        sample_rate: int = 1000,
        n_fft: int = 128,
        hop_length: int = 50,
        dim: int = 64,
        layers: int = 3,
        features: str = "spectrogram",
    ) -> None:
        super().__init__()
        if features not in FEATURES:
            raise ValueError(f"emg: unknown features {features!r}; known: {', '.join(FEATURES)}")
        self.channels = channels
        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.features = features
        self.out_dim = dim
        if features == "spectrogram":
            self.spectrogram = torchaudio.transforms.Spectrogram(
                n_fft=n_fft, hop_length=hop_length, power=2.0, pad_mode="constant"
            )
            width = channels * (n_fft // 2 + 1)
        else:
            width = channels
        self.embed = nn.Linear(width, dim)
        self.temporal = TemporalConvStack(dim, layers)

    @property
    def frame_rate(self) -> float:
        """Tokens per second."""
        return self.sample_rate / self.hop_length

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) -> (B, frames, features) for frames centred on 0, hop, 2 hop, ..."""
        if self.features == "spectrogram":
            power = self.spectrogram(x)  # (B, C, freq, frames)
            return rearrange(torch.log1p(power), "b c f n -> b n (c f)")
        half = self.n_fft // 2
        padded = F.pad(x.square(), (half, self.n_fft - 1 - half))
        mean_square = F.avg_pool1d(padded, self.n_fft, self.hop_length)
        return rearrange(mean_square.clamp_min(1e-12).sqrt(), "b c n -> b n c")

    def forward(self, x: torch.Tensor, mask: torch.Tensor, times: torch.Tensor) -> Tokens:
        if x.ndim != 3 or x.shape[-1] != self.channels:
            raise ValueError(f"emg: expected (B, L, {self.channels}), got {tuple(x.shape)}")
        mask = mask.bool()
        x = zero_masked(x, mask)
        frames = (x.shape[1] + self.hop_length - 1) // self.hop_length  # traced as a shape op
        feats = self.frame_features(rearrange(x, "b l c -> b c l"))[:, :frames]
        centres = torch.arange(frames, device=x.device) * self.hop_length
        token_mask = mask[:, centres]
        values = self.temporal(self.embed(feats), token_mask)
        return Tokens(values, token_mask, times[:, centres])
