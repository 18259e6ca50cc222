"""PhysioEncoder and the masked temporal conv stack it shares with video and sEMG."""

from __future__ import annotations

import pytest
import torch

from fusion.encoders.physio import PhysioEncoder
from fusion.encoders.temporal import TemporalConvStack


def _batch(lengths: list[int], steps: int = 12) -> tuple[torch.Tensor, ...]:
    """(B, steps, 2) HR/RR with the first lengths[b] steps real, times at 10 Hz."""
    torch.manual_seed(1)
    x = torch.randn(len(lengths), steps, 2)
    mask = torch.arange(steps) < torch.tensor(lengths)[:, None]
    times = torch.arange(steps).float().expand(len(lengths), steps) / 10
    return x, mask, times


def test_tokens_per_time_step() -> None:
    x, mask, times = _batch([12, 7, 0])
    tokens = PhysioEncoder(dim=24, layers=2)(x, mask, times)
    assert tokens.values.shape == (3, 12, 24)
    assert torch.equal(tokens.mask, mask)
    assert torch.equal(tokens.times, times)
    assert torch.all(tokens.values[~mask] == 0)


def test_masked_values_change_no_real_token(assert_mask_invariant) -> None:
    x, mask, times = _batch([12, 7, 0])
    encoder = PhysioEncoder()
    assert_mask_invariant(encoder.train(), x, mask, times)
    assert_mask_invariant(encoder.eval(), x, mask, times)


def test_samples_are_independent_in_training_mode() -> None:
    x, mask, times = _batch([12, 7, 3])
    encoder = PhysioEncoder().train()
    other = x.clone()
    other[1:] = torch.randn_like(other[1:]) * 5
    a, b = encoder(x, mask, times), encoder(other, mask, times)
    assert torch.allclose(a.values[0], b.values[0], atol=1e-6)
    assert not torch.allclose(a.values[1, :7], b.values[1, :7])


def test_gradients_reach_every_parameter(assert_grads_everywhere) -> None:
    x, mask, times = _batch([12, 7, 0])
    encoder = PhysioEncoder()
    assert_grads_everywhere(encoder, encoder(x, mask, times))


def test_receptive_field_follows_the_dilations() -> None:
    """Kernel 3 with dilations 1 and 2 sees 3 steps either side, and no further."""
    torch.manual_seed(0)
    stack = TemporalConvStack(dim=8, layers=2).eval()
    x = torch.randn(1, 20, 8)
    mask = torch.ones(1, 20, dtype=torch.bool)
    bumped = x.clone()
    bumped[0, 10] += torch.randn(8)
    moved = (stack(bumped, mask) - stack(x, mask)).abs().amax(-1)[0] > 1e-6
    assert moved.nonzero().flatten().tolist() == list(range(7, 14))


def test_wrong_channel_count_is_refused() -> None:
    x, mask, times = _batch([4])
    with pytest.raises(ValueError, match=r"expected \(B, L, 3\)"):
        PhysioEncoder(channels=3)(x, mask, times)
