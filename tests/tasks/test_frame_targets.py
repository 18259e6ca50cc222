"""Per-bin error targets from spans, the weighted error BCE, and the learning-rate schedule."""

from __future__ import annotations

import math

import torch

from fusion.tasks.aqa import _masked_bce, frame_targets, warmup_cosine


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
