"""The Video->EMG model: encoders of the input modalities, read on the envelope's clock, fused
by a sum of projections, decoded by the EMG head."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from fusion.encoders.base import Tokens, resample
from fusion.encoders.registry import build_encoders
from fusion.heads.emg import EMGHead

INPUTS: tuple[str, ...] = ("video", "pose", "physio")  # never the EMG it predicts


def token_spacing(tokens: Tokens) -> torch.Tensor:
    """(B,) mean time between a sample's real tokens (1 s where it has fewer than two)."""
    count = tokens.mask.sum(1)
    times = tokens.times
    big = torch.finfo(times.dtype).max
    first = times.masked_fill(~tokens.mask, big).amin(1)
    last = times.masked_fill(~tokens.mask, -big).amax(1)
    spacing = (last - first) / (count - 1).clamp_min(1)
    return torch.where(count >= 2, spacing, torch.ones_like(spacing)).clamp_min(1e-3)


class Video2EMGModel(nn.Module):
    """Batch dict with `envelope_times`/`envelope_mask` -> {envelope, contribution}.

    Each modality's tokens are resampled at the target times with a kernel as wide as its own
    token spacing (so 8 video frames interpolate smoothly onto 30 envelope rows), projected to
    `dim` and summed over the modalities the sample has; a missing one adds nothing.
    """

    def __init__(
        self,
        modalities: list[str],
        encoders: Mapping[str, Mapping[str, Any]],
        dim: int,
        channels: int,
        pairs: int,
        decoder_layers: int = 3,
    ) -> None:
        super().__init__()
        bad = sorted(set(modalities) - set(INPUTS))
        if bad or not modalities:
            raise ValueError(
                f"video2emg model.modalities: expected some of {list(INPUTS)}, got {modalities}"
            )
        self.modalities = tuple(sorted(modalities))
        self.encoders = build_encoders(modalities, encoders)
        self.project = nn.ModuleDict(
            {m: nn.Linear(e.out_dim, dim) for m, e in self.encoders.items()}
        )
        self.head = EMGHead(dim, channels, pairs, decoder_layers)

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        at, mask = batch["envelope_times"], batch["envelope_mask"]
        fused = None
        for modality in self.modalities:
            if modality not in batch:
                continue
            tokens = self.encoders[modality](
                batch[modality], batch[f"{modality}_mask"], batch[f"{modality}_times"]
            )
            here = tokens.mask.any(1)[:, None, None]
            read = resample(tokens, at, token_spacing(tokens)) * here
            part = self.project[modality](read) * here
            fused = part if fused is None else fused + part
        if fused is None:
            raise ValueError(f"the batch holds none of the model's inputs {list(self.modalities)}")
        return self.head(fused, mask)
