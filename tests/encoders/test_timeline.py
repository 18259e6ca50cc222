"""`timeline`: kernel resampling of tokens onto evenly spaced points of each sample's span."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion.encoders.base import Tokens, masked_mean, timeline


def _tokens(values: torch.Tensor, times: torch.Tensor, mask: torch.Tensor | None = None) -> Tokens:
    mask = torch.ones(times.shape, dtype=torch.bool) if mask is None else mask
    return Tokens(values, mask, times)


def test_dense_tokens_give_local_means_and_one_token_gives_itself():
    values = torch.arange(8.0).reshape(1, 8, 1)
    line = timeline(_tokens(values, torch.arange(8.0).reshape(1, 8)), 2)[0, :, 0]
    times = np.arange(8.0)
    for k, centre in enumerate((1.75, 5.25)):  # span 0..7 in two parts of 3.5
        kernel = np.exp(-0.5 * ((times - centre) / 3.5) ** 2)
        assert line[k].item() == pytest.approx(kernel @ times / kernel.sum(), rel=1e-5)
    assert line[0] < 3.5 < line[1]
    single = timeline(_tokens(torch.tensor([[[3.0, -1.0]]]), torch.tensor([[0.7]])), 4)
    torch.testing.assert_close(single, torch.tensor([[3.0, -1.0]]).expand(1, 4, 2))


def test_the_timeline_ignores_tempo_and_offset_but_not_order():
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(1, 12, 3, generator=generator)
    times = torch.linspace(0.0, 2.0, 12).unsqueeze(0)
    reference = timeline(_tokens(values, times), 5)
    torch.testing.assert_close(timeline(_tokens(values, 3.0 * times + 1.0), 5), reference)
    reversed_order = timeline(_tokens(values.flip(1), times), 5)
    assert not torch.allclose(reversed_order, reference, atol=1e-3)
    torch.testing.assert_close(
        masked_mean(values.flip(1), torch.ones(1, 12, dtype=torch.bool)),
        masked_mean(values, torch.ones(1, 12, dtype=torch.bool)),
    )


def test_masked_tokens_do_not_matter_and_a_sample_without_tokens_gets_zeros():
    values = torch.randn(2, 6, 4)
    times = torch.linspace(0.0, 1.0, 6).expand(2, 6).clone()
    mask = torch.tensor([[True] * 4 + [False] * 2, [False] * 6])
    junk_values = values.clone()
    junk_values[~mask] = float("nan")
    junk_times = times.masked_fill(~mask, float("nan"))
    line = timeline(Tokens(junk_values, mask, junk_times), 3)
    torch.testing.assert_close(line[0], timeline(_tokens(values[:1, :4], times[:1, :4]), 3)[0])
    assert torch.all(line[1] == 0)
    empty = timeline(
        Tokens(torch.zeros(2, 0, 4), torch.zeros(2, 0, dtype=torch.bool), torch.zeros(2, 0)), 3
    )
    assert empty.shape == (2, 3, 4) and torch.all(empty == 0)


def test_bins_must_be_positive():
    with pytest.raises(ValueError, match="bins >= 1"):
        timeline(_tokens(torch.zeros(1, 2, 1), torch.zeros(1, 2)), 0)
