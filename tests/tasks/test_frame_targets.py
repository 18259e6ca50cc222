"""Per-bin error targets from spans."""

from __future__ import annotations

import math

import torch

from fusion.tasks.aqa import frame_targets


def test_spans_become_bins_and_unknown_spans_are_masked():
    spans = torch.tensor([[[1.0, 2.0], [math.nan, math.nan], [math.nan, math.nan]]])
    errors = torch.tensor([[1.0, 1.0, 0.0]])
    labelled = torch.tensor([[True, True, True]])
    centres = torch.tensor([[0.5, 1.5, 2.5]])
    target, known = frame_targets(spans, errors, labelled, centres)
    assert target[0, :, 0].tolist() == [0.0, 1.0, 0.0]
    assert known[0, :, 0].all() and not known[0, :, 1].any() and known[0, :, 2].all()
    assert target[0, :, 2].sum() == 0
