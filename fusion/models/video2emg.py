"""The Video->EMG model: encoders of the input modalities, read on the envelope's clock, fused
by a sum of projections, decoded by the EMG head."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from einops import einsum
from torch import nn

from fusion.encoders.base import Tokens, masked_mean, resample
from fusion.encoders.registry import build_encoders
from fusion.heads.emg import EMGHead
from fusion.models.emg_baselines import ActionMeanEnvelope

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


def phase_features(times: torch.Tensor, mask: torch.Tensor, harmonics: int) -> torch.Tensor:
    """(B, T, 1 + 2 * harmonics): how far into its clip each row is (0..1) and its harmonics.

    This is the time-normalised clock the action-mean baseline averages on; given to the
    decoder, a repetition's phase is known whatever its tempo.
    """
    big = torch.finfo(times.dtype).max
    first = times.masked_fill(~mask, big).amin(1, keepdim=True)
    last = times.masked_fill(~mask, -big).amax(1, keepdim=True)
    fraction = ((times - first) / (last - first).clamp_min(1e-6)).masked_fill(~mask, 0.0)
    k = torch.arange(1, harmonics + 1, device=times.device, dtype=times.dtype)
    angle = 2 * torch.pi * fraction[..., None] * k
    return torch.cat([fraction[..., None], angle.sin(), angle.cos()], dim=-1)


def interpolate_curves(curves: torch.Tensor, fraction: torch.Tensor) -> torch.Tensor:
    """(B, G, C) curves on G evenly spaced fractions 0..1, read at (B, T) fractions -> (B, T, C)."""
    grid = curves.shape[1]
    position = fraction.clamp(0.0, 1.0) * (grid - 1)
    low = position.floor().long().clamp(0, max(grid - 2, 0))
    weight = (position - low)[..., None]
    index = low[..., None].expand(-1, -1, curves.shape[2])
    below = torch.gather(curves, 1, index)
    above = torch.gather(curves, 1, (index + 1).clamp(max=grid - 1))
    return below * (1 - weight) + above * weight


class Video2EMGModel(nn.Module):
    """Batch dict with `envelope_times`/`envelope_mask` -> {envelope, contribution, ...}.

    Each modality's tokens are resampled at the target times with a kernel as wide as its own
    token spacing (so 8 video frames interpolate smoothly onto 30 envelope rows), projected to
    `dim` and summed over the modalities the sample has (a missing one adds nothing), plus the
    clip's phase (`phase_features`); the EMG head decodes them.

    With `actions` (the exercise names of the data), the model also keeps one learned envelope
    curve per exercise over the clip's phase, recognises the exercise from its inputs
    (`action_logits`, trained against the label) and adds the recognised mixture of curves to
    the decoder's output, which then only models how this clip differs from its exercise's
    usual envelope. The label is never an input, so a test clip needs none.
    """

    def __init__(
        self,
        modalities: list[str],
        encoders: Mapping[str, Mapping[str, Any]],
        dim: int,
        channels: int,
        pairs: int,
        decoder_layers: int = 3,
        harmonics: int = 4,
        actions: list[str] | None = None,
        curve_points: int = 32,
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
        self.harmonics = harmonics
        self.phase = nn.Linear(1 + 2 * harmonics, dim)
        self.actions = list(actions or [])
        if self.actions:
            self.classify = nn.Linear(dim, len(self.actions))
            self.curves = nn.Parameter(torch.zeros(len(self.actions), curve_points, channels))
        self.head = EMGHead(dim, channels, pairs, decoder_layers)
        if self.actions:  # the decoder's part starts silent: the curves alone predict at first
            nn.init.zeros_(self.head.envelope.weight)
            nn.init.zeros_(self.head.envelope.bias)

    @torch.no_grad()
    def init_curves(self, clips: Sequence[Mapping[str, Any]]) -> None:
        """Set each exercise's curve to the mean time-normalised envelope of its clips."""
        mean = ActionMeanEnvelope(self.curves.shape[1]).fit(clips)
        for row, action in enumerate(self.actions):
            if action in mean.curves:
                self.curves[row] = torch.as_tensor(mean.curves[action], dtype=self.curves.dtype)

    def action_rows(self, names: list[str], device: torch.device) -> torch.Tensor:
        """Index of each exercise name in `actions`; -100 (ignored by the loss) if unknown."""
        return torch.tensor([self.actions.index(n) if n in self.actions else -100 for n in names],
                            device=device)  # fmt: skip

    def forward(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        at, mask = batch["envelope_times"], batch["envelope_mask"]
        phase = phase_features(at, mask, self.harmonics)
        fused = self.phase(phase)
        seen = False
        for modality in self.modalities:
            if modality not in batch:
                continue
            tokens = self.encoders[modality](
                batch[modality], batch[f"{modality}_mask"], batch[f"{modality}_times"]
            )
            here = tokens.mask.any(1)[:, None, None]
            read = resample(tokens, at, token_spacing(tokens)) * here
            fused = fused + self.project[modality](read) * here
            seen = True
        if not seen:
            raise ValueError(f"the batch holds none of the model's inputs {list(self.modalities)}")
        out = self.head(fused, mask)
        if self.actions:
            logits = self.classify(masked_mean(fused, mask))
            curves = einsum(logits.softmax(-1), self.curves, "b a, a g c -> b g c")
            usual = interpolate_curves(curves, phase[..., 0]) * mask[..., None]
            out["envelope"] = out["envelope"] + usual
            out["action_logits"] = logits
        return out
