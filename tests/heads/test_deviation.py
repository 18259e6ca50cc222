"""ActionStandardizer (per-action running statistics) and the per-modality timelines it reads."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion.encoders.base import Tokens, timeline
from fusion.heads.deviation import ActionStandardizer, modality_timelines


def _draws(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Action 0 ~ N(5, 2), action 1 ~ N(-3, 0.5) on 3 features, interleaved."""
    g = torch.Generator().manual_seed(seed)
    action = torch.arange(n) % 2
    centre = torch.tensor([5.0, -3.0])[action, None]
    spread = torch.tensor([2.0, 0.5])[action, None]
    return centre + spread * torch.randn(n, 3, generator=g), action


def test_running_statistics_converge_to_each_actions_mean_and_spread():
    norm = ActionStandardizer(num_actions=3, features=3, momentum=0.05).train()
    for step in range(300):
        x, a = _draws(8, seed=step)
        norm(x, a)
    np.testing.assert_allclose(norm.mean[:2].mean(1).numpy(), [5.0, -3.0], atol=0.3)
    spread = (norm.square - norm.mean.square()).sqrt()
    np.testing.assert_allclose(spread[:2].mean(1).numpy(), [2.0, 0.5], rtol=0.2)
    assert norm.seen.tolist() == [True, True, False]
    x, a = _draws(4000, seed=999)
    z = norm.eval()(x, a)
    for action in (0, 1):
        np.testing.assert_allclose(z[a == action].mean(0).numpy(), 0.0, atol=0.4)
        np.testing.assert_allclose(z[a == action].std(0).numpy(), 1.0, atol=0.25)


def test_the_first_batch_of_an_action_sets_its_statistics():
    norm = ActionStandardizer(2, 2, momentum=0.01).train()
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    norm(x, torch.tensor([1, 1]))
    torch.testing.assert_close(norm.mean[1], torch.tensor([2.0, 4.0]))
    torch.testing.assert_close(norm.mean[0], torch.zeros(2))


def test_eval_leaves_statistics_alone_and_gradients_skip_them():
    norm = ActionStandardizer(2, 3)
    x, a = _draws(6)
    norm.train()(x, a)
    before = norm.mean.clone()
    norm.eval()(x + 100.0, a)
    torch.testing.assert_close(norm.mean, before)
    leaf = x.clone().requires_grad_(True)
    norm.train()(leaf, a).sum().backward()
    assert leaf.grad is not None and torch.isfinite(leaf.grad).all()
    assert not norm.mean.requires_grad


def test_statistics_travel_in_the_state_dict():
    norm = ActionStandardizer(2, 3).train()
    norm(*_draws(8))
    again = ActionStandardizer(2, 3)
    again.load_state_dict(norm.state_dict())
    x, a = _draws(5, seed=3)
    torch.testing.assert_close(again.eval()(x, a), norm.eval()(x, a))


def test_bad_momentum_is_refused():
    with pytest.raises(ValueError, match="momentum"):
        ActionStandardizer(2, 3, momentum=0.0)


def test_masked_entries_give_zero_and_leave_the_statistics_alone():
    norm = ActionStandardizer(1, 2, momentum=0.5).train()
    x = torch.tensor([[1.0, 10.0], [3.0, 99.0], [5.0, 30.0]])
    mask = torch.tensor([[True, True], [True, False], [True, True]])
    z = norm(x, torch.zeros(3, dtype=torch.long), mask)
    # First batch: feature 0 from all three rows, feature 1 from rows 0 and 2 only.
    torch.testing.assert_close(norm.mean[0], torch.tensor([3.0, 20.0]))
    torch.testing.assert_close(norm.square[0], torch.tensor([35.0 / 3.0, 500.0]))
    assert z[1, 1] == 0.0 and z[1, 0] == 0.0
    # Later batches move a feature by (1 - momentum) ** (rows present for it).
    norm(torch.tensor([[7.0, 0.0]]), torch.tensor([0]), torch.tensor([[True, False]]))
    torch.testing.assert_close(norm.mean[0], torch.tensor([0.5 * 3.0 + 0.5 * 7.0, 20.0]))


def _tokens(b: int, n: int, d: int, seed: int) -> Tokens:
    g = torch.Generator().manual_seed(seed)
    times = torch.linspace(0.0, 2.0, n).expand(b, n).clone()
    return Tokens(torch.randn(b, n, d, generator=g), torch.ones(b, n, dtype=torch.bool), times)


def test_modality_timelines_lay_modalities_side_by_side_and_mask_absent_ones():
    dims = {"emg": 3, "pose": 2, "video": 4}
    emg, pose = _tokens(2, 6, 3, 0), _tokens(2, 9, 2, 1)
    pose.mask[1] = False  # sample 1 has no pose
    present = {"emg": torch.tensor([True, False]), "pose": torch.tensor([True, True])}
    features, mask = modality_timelines({"pose": pose, "emg": emg}, present, dims, bins=4)
    assert features.shape == mask.shape == (2, 4 * (3 + 2 + 4))
    torch.testing.assert_close(features[0, :12], timeline(emg, 4)[0].flatten())
    torch.testing.assert_close(features[0, 12:20], timeline(pose, 4)[0].flatten())
    assert mask[0, :20].all() and not mask[0, 20:].any()  # video was not passed
    assert not mask[1].any() and (features[1] == 0).all()  # emg dropped, pose without tokens
