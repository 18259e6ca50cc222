"""Score metrics against scipy / numpy on random data, with masks, split updates and reset."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from fusion.metrics.regression import RelativeL2, ScoreMAE, SpearmanRho


@pytest.fixture()
def scores() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """60 predicted and true scores (with ties), a random mask and NaN targets where masked."""
    gen = torch.Generator().manual_seed(0)
    target = torch.randint(20, 101, (60,), generator=gen).float()
    preds = target + 15 * torch.randn(60, generator=gen)
    mask = torch.rand(60, generator=gen) > 0.3
    target[~mask] = float("nan")
    return preds, target, mask


def test_spearman_matches_scipy_on_the_masked_samples(scores) -> None:
    preds, target, mask = scores
    metric = SpearmanRho()
    metric.update(preds, target, mask)
    expected = spearmanr(preds[mask].numpy(), target[mask].numpy()).statistic
    assert metric.compute().item() == pytest.approx(expected, abs=1e-5)


def test_relative_l2_and_mae_match_numpy(scores) -> None:
    preds, target, mask = scores
    rl2, mae = RelativeL2(score_min=20, score_max=100), ScoreMAE()
    rl2.update(preds, target, mask)
    mae.update(preds, target, mask)
    p, y = preds[mask].double().numpy(), target[mask].double().numpy()
    assert rl2.compute().item() == pytest.approx(np.mean(((p - y) / 80) ** 2) * 100, rel=1e-5)
    assert mae.compute().item() == pytest.approx(np.mean(np.abs(p - y)), rel=1e-5)


def test_relative_l2_known_value() -> None:
    metric = RelativeL2()
    metric.update(torch.tensor([50.0, 70.0]), torch.tensor([40.0, 70.0]))
    assert metric.compute().item() == pytest.approx(0.5)  # mean(0.1^2, 0) * 100


@pytest.mark.parametrize("make", [SpearmanRho, RelativeL2, ScoreMAE])
def test_two_halves_equal_one_update_and_reset_clears(make, scores) -> None:
    preds, target, mask = scores
    whole, halves = make(), make()
    whole.update(preds, target, mask)
    halves.update(preds[:25], target[:25], mask[:25])
    halves.update(preds[25:], target[25:], mask[25:])
    assert halves.compute().item() == pytest.approx(whole.compute().item(), rel=1e-6)
    halves.reset()
    halves.update(preds[:25], target[:25], mask[:25])
    short = make()
    short.update(preds[:25], target[:25], mask[:25])
    assert halves.compute().item() == pytest.approx(short.compute().item(), rel=1e-6)


def test_spearman_without_two_samples_is_nan() -> None:
    metric = SpearmanRho()
    with pytest.warns(UserWarning, match="before the ``update``"):
        assert torch.isnan(metric.compute())
    metric.update(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]), torch.tensor([True, False]))
    assert torch.isnan(metric.compute())


def test_bad_shapes_and_masks_are_rejected() -> None:
    with pytest.raises(ValueError, match="must both be"):
        ScoreMAE().update(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match="bool tensor"):
        SpearmanRho().update(torch.zeros(3), torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError, match="must exceed"):
        RelativeL2(score_min=10, score_max=10)
