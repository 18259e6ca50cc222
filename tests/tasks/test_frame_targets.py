"""Per-bin error targets from spans, the error BCE, the score losses and the LR schedule."""

from __future__ import annotations

import math

import pytest
import torch
from omegaconf import OmegaConf

from fusion.config import compose
from fusion.tasks.aqa import AQATask, _masked_bce, _masked_regression, frame_targets
from fusion.tasks.optim import warmup_cosine


def test_spans_become_bins_and_unknown_spans_are_masked():
    spans = torch.tensor([[[1.0, 2.0], [math.nan, math.nan], [math.nan, math.nan]]])
    errors = torch.tensor([[1.0, 1.0, 0.0]])
    labelled = torch.tensor([[True, True, True]])
    centres = torch.tensor([[0.5, 1.5, 2.5]])
    target, known = frame_targets(spans, errors, labelled, centres)
    assert target[0, :, 0].tolist() == [0.0, 1.0, 0.0]
    assert known[0, :, 0].all() and not known[0, :, 1].any() and known[0, :, 2].all()
    assert target[0, :, 2].sum() == 0


def test_warmup_cosine_matches_linear_warmup_then_cosine():
    factors = [warmup_cosine(e, warmup=2, epochs=6) for e in range(7)]
    expected = [
        0.1,
        0.55,
        1.0,
        0.5 * (1 + math.cos(math.pi / 4)),
        0.5,
        0.5 * (1 + math.cos(3 * math.pi / 4)),
        0.0,
    ]
    assert all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(factors, expected, strict=True))


def test_error_bce_weighs_present_errors_by_pos_weight_and_skips_unlabelled():
    logits = torch.tensor([[0.5, -1.0, 2.0]])
    target = torch.tensor([[1.0, 0.0, 1.0]])
    mask = torch.tensor([[True, True, False]])
    loss = _masked_bce(logits, target, mask, torch.zeros(()), pos_weight=2.5)
    # -(2.5 log sigmoid(0.5) + log(1 - sigmoid(-1))) / 2; the third slot is unlabelled.
    expected = -(2.5 * math.log(1 / (1 + math.exp(-0.5))) + math.log(1 - 1 / (1 + math.e))) / 2
    assert math.isclose(loss.item(), expected, rel_tol=1e-6)


def test_score_loss_is_mse_or_huber_over_labelled_scores():
    pred = torch.tensor([0.2, 3.0, -0.5, 9.0])
    target = torch.tensor([0.0, 0.0, 0.0, 0.0])
    mask = torch.tensor([True, True, True, False])
    zero = torch.zeros(())
    assert math.isclose(
        _masked_regression(pred, target, mask, zero).item(), (0.04 + 9.0 + 0.25) / 3, rel_tol=1e-6
    )
    # Huber, delta 1: 0.5 d^2 inside, |d| - 0.5 outside; the unlabelled 9.0 is left out.
    huber = _masked_regression(pred, target, mask, zero, huber_delta=1.0)
    assert math.isclose(huber.item(), (0.5 * 0.04 + 2.5 + 0.5 * 0.25) / 3, rel_tol=1e-6)
    far = _masked_regression(
        torch.tensor([3.0]), torch.tensor([0.0]), torch.tensor([True]), zero, 0.5
    )
    assert math.isclose(far.item(), 0.5 * (3.0 - 0.25), rel_tol=1e-6)
    assert _masked_regression(pred, target, torch.zeros(4, dtype=torch.bool), zero, 1.0) == 0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("task.score_loss=l1", "task.score_loss: unknown 'l1'"),
        ("task.huber_delta=0", "huber_delta"),
    ],
)
def test_a_bad_score_loss_is_refused(override, message):
    with pytest.raises(ValueError, match=message):
        AQATask(OmegaConf.to_container(compose(None, [override])))
