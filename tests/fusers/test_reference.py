"""Each fuser against a per-sample reference written with plain loops over the real tokens."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from fusion.encoders.base import Tokens
from fusion.fusers.registry import build_fuser
from fusion.fusers.transformer import angular_frequencies, time_embedding

DIM = 16
ALL = ("emg", "physio", "pose", "video")


@pytest.fixture()
def tokens(make_tokens) -> dict[str, Tokens]:
    """All four modalities; sample 1 lacks pose and sample 2 lacks emg and video."""
    tokens = make_tokens(ALL, batch=4)
    for m, samples in (("pose", [1]), ("emg", [2]), ("video", [2])):
        tokens[m].mask[samples] = False
    return tokens


def _build(name: str, dims: dict[str, int], bins: int = 0):
    """The fuser in eval mode; bins=0 (mean over time) unless a test asks for a timeline."""
    torch.manual_seed(0)
    return build_fuser(name, dims, DIM, bins=bins).eval()


def _real_mean(tokens: dict[str, Tokens], m: str, b: int) -> torch.Tensor | None:
    """Mean of sample b's real tokens of modality m, or None when it has none."""
    t = tokens[m]
    return t.values[b, t.mask[b]].mean(0) if t.mask[b].any() else None


def test_concat_matches_a_slot_by_slot_reference(dims, tokens):
    fuser = _build("concat", dims)
    fused = fuser(tokens)
    for b in range(4):
        slots = []
        for m in ALL:
            mean = _real_mean(tokens, m, b)
            slots.append(torch.zeros(DIM) if mean is None else fuser.slot_pool[m].linear(mean))
        torch.testing.assert_close(fused.pooled[b], fuser.mlp(torch.cat(slots)))


def _real_timeline(tokens: dict[str, Tokens], m: str, b: int, bins: int) -> torch.Tensor:
    """Sample b's real tokens of m resampled at `bins` points by a Gaussian kernel, in a loop."""
    t = tokens[m]
    values, times = t.values[b, t.mask[b]], t.times[b, t.mask[b]]
    first, last = float(times.min()), float(times.max())
    width = max((last - first) / bins, 1e-3)
    rows = []
    for k in range(bins):
        centre = first + (k + 0.5) * width
        kernel = torch.exp(-0.5 * ((times - centre) / width) ** 2)
        rows.append(kernel @ values / kernel.sum())
    return torch.stack(rows)


def test_concat_with_bins_summarises_each_modality_by_its_timeline(dims, tokens):
    fuser = _build("concat", dims, bins=3)
    fused = fuser(tokens)
    for b in range(4):
        slots = []
        for m in ALL:
            if not tokens[m].mask[b].any():
                slots.append(torch.zeros(DIM))
                continue
            line = _real_timeline(tokens, m, b, 3).flatten()
            slots.append(fuser.slot_pool[m].linear(line))
        torch.testing.assert_close(fused.pooled[b], fuser.mlp(torch.cat(slots)))


def test_attention_is_a_softmax_over_the_present_modalities_only(dims, tokens):
    fuser = _build("attention", dims)
    fused = fuser(tokens)
    for b in range(4):
        vectors = [
            fuser.vector[m].linear(mean)
            for m in ALL
            if (mean := _real_mean(tokens, m, b)) is not None
        ]
        stacked = torch.stack(vectors)
        weights = torch.softmax(fuser.score(stacked)[:, 0], dim=0)
        torch.testing.assert_close(fused.pooled[b], weights @ stacked)


def test_gated_sum_is_normalised_by_the_present_gates(dims, tokens):
    fuser = _build("gated", dims)
    fused = fuser(tokens)
    for b in range(4):
        means = {m: _real_mean(tokens, m, b) for m in ALL}
        vectors = [
            torch.zeros(DIM) if v is None else fuser.vector[m].linear(v) for m, v in means.items()
        ]
        flags = torch.tensor([float(v is not None) for v in means.values()])
        gates = torch.sigmoid(fuser.gate(torch.cat([*vectors, flags])))
        numerator = sum(g * v for g, v, f in zip(gates, vectors, flags, strict=True) if f)
        expected = numerator / gates[flags.bool()].sum()
        torch.testing.assert_close(fused.pooled[b], expected)


def test_gated_with_one_modality_returns_its_vector(dims, make_tokens):
    fuser = _build("gated", dims)
    tokens = make_tokens(("pose",), batch=2)
    fused = fuser(tokens)
    for b in range(2):
        expected = fuser.vector["pose"].linear(_real_mean(tokens, "pose", b))
        torch.testing.assert_close(fused.pooled[b], expected)


def test_late_averages_the_per_modality_heads_over_present_ones(dims, tokens):
    fuser = _build("late", dims)
    fused = fuser(tokens)
    for b in range(4):
        outputs = []
        for m in ALL:
            mean = _real_mean(tokens, m, b)
            if mean is None:
                assert torch.all(fused.per_modality[m][b] == 0)
                continue
            outputs.append(fuser.heads[m][1:](fuser.heads[m][0].linear(mean)))
            torch.testing.assert_close(fused.per_modality[m][b], outputs[-1])
        torch.testing.assert_close(fused.pooled[b], torch.stack(outputs).mean(0))


def test_transformer_equals_running_each_sample_without_padding(dims, tokens):
    fuser = _build("transformer", dims)
    fused = fuser(tokens)
    for b in range(4):
        rows = []
        for i, m in enumerate(ALL):
            t = tokens[m]
            real = t.mask[b]
            times = t.times[b, real]
            rows.append(
                fuser.token_proj[m](t.values[b, real])
                + fuser.modality_embedding[i]
                + time_embedding(times, fuser.frequencies, DIM)
            )
        sequence = torch.cat([fuser.cls[0], *rows]).unsqueeze(0)
        out = fuser.encoder(sequence)[0]
        torch.testing.assert_close(fused.pooled[b], out[0], atol=1e-5, rtol=1e-5)
        real = fused.tokens.mask[b]
        torch.testing.assert_close(fused.tokens.values[b, real], out[1:], atol=1e-5, rtol=1e-5)


def test_transformer_uses_time_and_modality_identity(dims, make_tokens):
    fuser = _build("transformer", dims)
    tokens = make_tokens(("emg", "pose"), batch=2)
    reference = fuser(tokens).pooled
    shifted = {m: Tokens(t.values, t.mask, t.times + 0.5) for m, t in tokens.items()}
    assert not torch.allclose(fuser(shifted).pooled, reference, atol=1e-4)
    twin = copy.deepcopy(fuser)
    with torch.no_grad():
        twin.modality_embedding.copy_(fuser.modality_embedding.flip(0))
    assert not torch.allclose(twin(tokens).pooled, reference, atol=1e-4)


def test_time_embedding_known_values():
    frequencies = angular_frequencies(8, 0.5, 4.0)
    torch.testing.assert_close(frequencies, 2 * math.pi / torch.tensor([0.5, 1.0, 2.0, 4.0]))
    at_zero = time_embedding(torch.zeros(1), frequencies, 9)
    assert at_zero.tolist() == [[0.0] * 4 + [1.0] * 4 + [0.0]]
    quarter = time_embedding(torch.tensor([1.0]), frequencies, 8)[0]
    torch.testing.assert_close(quarter[3], torch.tensor(1.0))
    torch.testing.assert_close(quarter[:3], torch.zeros(3), atol=1e-5, rtol=0.0)
    with pytest.raises(ValueError, match="min_period"):
        angular_frequencies(8, 2.0, 1.0)
