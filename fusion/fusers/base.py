"""The fuser contract: the `Fused` output, `ModalityDropout` and the `Fuser` base class.

A fuser is built with `(dims, dim, **kwargs)` (each modality's token width, the output width)
and called with `{modality: Tokens}` for any non-empty subset of `dims`: a missing key is a
modality absent for the whole batch, an all-False mask row a modality absent for one sample.
Modalities are always handled in the sorted order of `dims`, so key order never matters, and
masked positions are zeroed on entry, so their values and times never reach an output.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from fusion.encoders.base import Tokens, masked_mean, timeline


@dataclass
class Fused:
    """A fuser's output: one vector per sample and time-stamped tokens, both of width `dim`.

    `tokens` are every passed modality's tokens in sorted modality order, concatenated along N
    (mask all False for a sample with no modality). `present` says, per passed modality, which
    samples had it after modality dropout; `per_modality` holds each modality's own (B, dim)
    features when the fuser makes them (late fusion), zeros where the sample lacks it.
    """

    pooled: torch.Tensor
    tokens: Tokens
    present: dict[str, torch.Tensor] = field(default_factory=dict)
    per_modality: dict[str, torch.Tensor] | None = None


class ModalityDropout(nn.Module):
    """Training-only: drop each modality of each sample with probability p (mask set False).

    A sample never loses its last present modality: when every present one is drawn for
    dropping, one of them chosen uniformly at random is kept. Identity in eval mode.
    """

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"modality dropout must be in [0, 1], got {p}")
        self.p = p

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, tokens: Mapping[str, Tokens]) -> dict[str, Tokens]:
        """The same tokens with the dropped modalities' mask rows set False."""
        if not self.training or self.p == 0.0 or not tokens:
            return dict(tokens)
        present = torch.stack([t.mask.any(1) for t in tokens.values()], dim=1)
        keep = present & (torch.rand(present.shape, device=present.device) >= self.p)
        lost = present.any(1) & ~keep.any(1)
        draw = torch.rand(present.shape, device=present.device).masked_fill(~present, -1.0)
        rescued = nn.functional.one_hot(draw.argmax(1), present.shape[1]).bool()
        keep = keep | (rescued & lost.unsqueeze(1))
        return {
            name: Tokens(t.values, t.mask & keep[:, i, None], t.times)
            for i, (name, t) in enumerate(tokens.items())
        }


def without_masked(tokens: Tokens) -> Tokens:
    """Tokens whose masked values and times are zero, so that NaN or junk there cannot leak."""
    return Tokens(
        tokens.values.masked_fill(~tokens.mask.unsqueeze(-1), 0.0),
        tokens.mask,
        tokens.times.masked_fill(~tokens.mask, 0.0),
    )


def join(tokens: Mapping[str, Tokens]) -> Tokens:
    """Tokens of several modalities concatenated along N, in the mapping's order."""
    parts = list(tokens.values())
    return Tokens(
        torch.cat([t.values for t in parts], dim=1),
        torch.cat([t.mask for t in parts], dim=1),
        torch.cat([t.times for t in parts], dim=1),
    )


class TemporalPool(nn.Module):
    """Tokens (B, N, in_dim) -> (B, out_dim): a linear map of a summary over time.

    `bins=0`: the masked mean (where in the repetition a feature occurs is lost); `bins>0`: the
    flattened `timeline` of that many points, so the map can weigh each stretch of the
    repetition on its own (a deviation in the descent is not the same as one at lockout).
    """

    def __init__(self, in_dim: int, out_dim: int, bins: int = 0) -> None:
        super().__init__()
        if bins < 0:
            raise ValueError(f"bins must be >= 0 (0 = mean over time), got {bins}")
        self.bins = bins
        self.linear = nn.Linear(in_dim * max(bins, 1), out_dim)

    def extra_repr(self) -> str:
        return f"bins={self.bins}"

    def summary(self, tokens: Tokens) -> torch.Tensor:
        """(B, in_dim * max(bins, 1)): the masked mean or the flattened timeline."""
        if self.bins == 0:
            return masked_mean(tokens.values, tokens.mask)
        return timeline(tokens, self.bins).flatten(1)

    def forward(self, tokens: Tokens) -> torch.Tensor:
        return self.linear(self.summary(tokens))


class Fuser(nn.Module, ABC):
    """Base of every fuser: input checks, modality dropout and the per-modality projections.

    `token_proj[m]` maps modality m's tokens to `dim`; the output tokens are built from it.
    `bins` sets how a fuser summarises a modality over time (see `TemporalPool`).
    """

    def __init__(
        self,
        dims: Mapping[str, int],
        dim: int,
        modality_dropout: float = 0.0,
        bins: int = 16,
    ) -> None:
        super().__init__()
        if not dims:
            raise ValueError("a fuser needs at least one modality in `dims`")
        bad = {m: d for m, d in dims.items() if int(d) <= 0}
        if bad or dim <= 0:
            raise ValueError(f"token widths must be positive, got dims={dict(dims)}, dim={dim}")
        self.dims = {m: int(dims[m]) for m in sorted(dims)}
        self.modalities = tuple(self.dims)
        self.dim = dim
        self.modality_dropout = ModalityDropout(modality_dropout)
        self.token_proj = nn.ModuleDict({m: nn.Linear(d, dim) for m, d in self.dims.items()})
        self.bins = bins

    def temporal_pools(self, width: int) -> nn.ModuleDict:
        """One `TemporalPool` per modality from its token width to `width`."""
        return nn.ModuleDict({m: TemporalPool(d, width, self.bins) for m, d in self.dims.items()})

    @abstractmethod
    def forward(self, tokens: Mapping[str, Tokens]) -> Fused:
        """Fuse `{modality: Tokens}` (any non-empty subset of `dims`) into a `Fused`."""

    def prepare(self, tokens: Mapping[str, Tokens]) -> dict[str, Tokens]:
        """Checked inputs in sorted modality order, masked positions zeroed, dropout applied."""
        if not tokens:
            raise ValueError(
                f"a fuser needs the tokens of at least one of {', '.join(self.modalities)} "
                "(the batch size comes from them)"
            )
        unknown = sorted(set(tokens) - set(self.dims))
        if unknown:
            raise ValueError(
                f"unknown modality {', '.join(unknown)}: this fuser was built for "
                f"{', '.join(self.modalities)}"
            )
        ordered = {m: tokens[m] for m in self.modalities if m in tokens}
        batch = {m: t.values.shape[0] for m, t in ordered.items()}
        first = next(iter(batch.values()))
        # Compared pairwise, not in a set: while tracing, sizes are distinct tensor objects.
        if any(size != first for size in batch.values()):
            raise ValueError(f"modalities disagree on the batch size: {batch}")
        for m, t in ordered.items():
            if t.mask.dtype != torch.bool:
                raise ValueError(f"{m} token mask must be bool, got {t.mask.dtype}")
            if t.dim != self.dims[m]:
                raise ValueError(f"{m} tokens have width {t.dim}, the fuser expects {self.dims[m]}")
        return self.modality_dropout({m: without_masked(t) for m, t in ordered.items()})

    def project(self, tokens: Mapping[str, Tokens]) -> dict[str, Tokens]:
        """Every modality's tokens mapped to `dim` (masked positions stay zero)."""
        return {
            m: without_masked(Tokens(self.token_proj[m](t.values), t.mask, t.times))
            for m, t in tokens.items()
        }

    def stack_pooled(
        self, tokens: Mapping[str, Tokens], pools: Mapping[str, TemporalPool]
    ) -> torch.Tensor:
        """(B, M, width) each modality's `pools[m]` summary in modality order; zeros when absent."""
        first = next(iter(tokens.values()))
        present = self.presence(tokens)
        width = next(iter(pools.values())).linear.out_features
        zeros = first.values.new_zeros(first.values.shape[0], width)
        return torch.stack(
            [
                pools[m](tokens[m]) * present[:, i, None] if m in tokens else zeros
                for i, m in enumerate(self.modalities)
            ],
            dim=1,
        )

    def presence(self, tokens: Mapping[str, Tokens]) -> torch.Tensor:
        """(B, M) bool in `self.modalities` order: which samples have each modality."""
        first = next(iter(tokens.values())).mask
        absent = first.new_zeros(first.shape[0])
        return torch.stack(
            [tokens[m].mask.any(1) if m in tokens else absent for m in self.modalities], dim=1
        )

    def fused(
        self,
        pooled: torch.Tensor,
        tokens: Mapping[str, Tokens],
        joined: Tokens,
        per_modality: dict[str, torch.Tensor] | None = None,
    ) -> Fused:
        """The `Fused` output, with the presence of every passed modality."""
        present = {m: t.mask.any(1) for m, t in tokens.items()}
        return Fused(pooled=pooled, tokens=joined, present=present, per_modality=per_modality)
