"""Hand-made tokens for the fuser tests: random values, ragged masks, sorted time stamps."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
import torch

from fusion.encoders.base import Tokens

DIMS = {"emg": 6, "physio": 4, "pose": 8, "video": 12}
LENGTHS = {"emg": 7, "physio": 3, "pose": 5, "video": 4}


@pytest.fixture()
def dims() -> dict[str, int]:
    """Token width of each modality."""
    return dict(DIMS)


@pytest.fixture()
def make_tokens() -> Callable[..., dict[str, Tokens]]:
    """`make(modalities, batch, seed)`: tokens where sample b keeps all but b % N of N positions.

    Every sample has at least one real token of each modality; padded positions hold NaN
    values and times that must never reach an output.
    """

    def make(
        modalities: Sequence[str] = tuple(DIMS), batch: int = 4, seed: int = 0
    ) -> dict[str, Tokens]:
        generator = torch.Generator().manual_seed(seed)
        tokens = {}
        for m in modalities:
            n = LENGTHS[m]
            values = torch.randn(batch, n, DIMS[m], generator=generator)
            real = n - torch.arange(batch) % n
            mask = torch.arange(n) < real.unsqueeze(1)
            times = torch.sort(torch.rand(batch, n, generator=generator) * 3.0, dim=1).values
            values = torch.where(mask.unsqueeze(-1), values, torch.full_like(values, float("nan")))
            times = torch.where(mask, times, torch.full_like(times, float("nan")))
            tokens[m] = Tokens(values, mask, times)
        return tokens

    return make
