"""The MIA-style pose transformer: one token per frame, masks honoured, any joint count."""

from __future__ import annotations

import pytest
import torch

from fusion.encoders.pose_transformer import PoseTransformerEncoder, sinusoidal_positions


def inputs(batch: int = 3, frames: int = 12, joints: int = 7):
    x = torch.randn(batch, frames, joints, 3, generator=torch.Generator().manual_seed(0))
    mask = torch.ones(batch, frames, dtype=torch.bool)
    mask[1, 8:] = False
    mask[2] = False  # a sample without pose
    times = torch.arange(frames).float().expand(batch, frames) / 10
    return x, mask, times


def test_one_token_per_frame_at_its_time():
    encoder = PoseTransformerEncoder(joints=7, dim=16, heads=2)
    x, mask, times = inputs()
    tokens = encoder(x, mask, times)
    assert tokens.values.shape == (3, 12, 16) and torch.equal(tokens.mask, mask)
    assert torch.equal(tokens.times, times)


def test_masked_values_change_no_real_token(assert_mask_invariant):
    encoder = PoseTransformerEncoder(joints=7, dim=16, heads=2, dropout=0.0)
    assert_mask_invariant(encoder.eval(), *inputs())


def test_gradients_reach_every_parameter(assert_grads_everywhere):
    encoder = PoseTransformerEncoder(joints=7, dim=16, heads=2, layers=1)
    x, mask, times = inputs()
    assert_grads_everywhere(encoder, encoder(x, mask, times))


def test_positions_are_sine_cosine_pairs():
    codes = sinusoidal_positions(5, 8, torch.device("cpu"))
    torch.testing.assert_close(codes[:, 0], torch.sin(torch.arange(5.0)))
    torch.testing.assert_close(codes[:, 1], torch.cos(torch.arange(5.0)))


def test_wrong_joint_count_and_bad_sizes_are_refused():
    encoder = PoseTransformerEncoder(joints=7, dim=16, heads=2)
    with pytest.raises(ValueError, match=r"expected \(B, L, 7, 3\) joints"):
        encoder(torch.zeros(1, 4, 21, 3), torch.ones(1, 4, dtype=torch.bool), torch.zeros(1, 4))
    with pytest.raises(ValueError, match="divisible by heads"):
        PoseTransformerEncoder(dim=10, heads=4)
