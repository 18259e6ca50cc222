"""ActionStandardizer: per-action running statistics, used unchanged at inference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fusion.heads.deviation import ActionStandardizer


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
